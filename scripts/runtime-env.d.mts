export declare const GATEWAY_RUNTIME_ENV: Readonly<Record<string, string>>;
export declare const GATEWAY_NODE_FLAGS: readonly string[];
export declare function withGatewayRuntimeEnv<T extends Record<string, string | undefined>>(
  env: T,
): T & Record<string, string>;
