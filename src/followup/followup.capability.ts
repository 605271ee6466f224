import { getAgreement, loadAgreements } from '../agreements/load-agreements';
import type { AppContext, Capability } from '../compose.types';
import { dashboardRoutes } from './dashboard/dashboard.routes';
import { deviationRoutes } from './deviations/deviations.routes';
import { ownDeviationRoutes } from './deviations/own-deviations.routes';
import { whatIfRoutes } from './what-if/what-if.routes';
import { ownViewRoutes } from './dashboard/own-view.routes';
import { indicatorRoutes } from './indicators/indicators.routes';
import { liabilityRoutes } from './liability/liability.routes';
import { logReviewRoutes } from './log-review/log-review.routes';
import { loadRatesTable } from './liability/rates-file';

/** Follow-up for the region and the municipalities: payment liability and indicators from the stored stays (admin API). */
export async function createFollowupCapability(ctx: AppContext): Promise<Capability> {
  const agreements = await loadAgreements({ extraDir: ctx.config.AGREEMENTS_DIR });
  const rates = await loadRatesTable();
  return {
    name: 'followup',
    mountRoutes(app) {
      app.use(liabilityRoutes({ db: ctx.db, agreements, rates, defaultAgreement: ctx.config.AGREEMENT }));
      const agreement = () => getAgreement(agreements, ctx.config.AGREEMENT);
      app.use(indicatorRoutes({ db: ctx.db, agreement, clock: ctx.clock }));
      app.use(dashboardRoutes({ db: ctx.db, now: () => ctx.clock.now(), agreement }));
      app.use(logReviewRoutes({ db: ctx.db, clock: ctx.clock }));
      app.use(ownViewRoutes({ db: ctx.db, now: () => ctx.clock.now(), agreement }));
      app.use(deviationRoutes({ db: ctx.db, clock: ctx.clock }));
      app.use(ownDeviationRoutes({ db: ctx.db }));
      app.use(
        whatIfRoutes({ db: ctx.db, agreements, defaultAgreement: ctx.config.AGREEMENT, clock: ctx.clock, rates }),
      );
    },
  };
}
