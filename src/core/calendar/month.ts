/** A calendar month as the follow-up APIs and CLIs name it: `YYYY-MM`. */
export const MONTH_PATTERN = /^\d{4}-(0[1-9]|1[0-2])$/;

export const isMonth = (s: string): boolean => MONTH_PATTERN.test(s);
