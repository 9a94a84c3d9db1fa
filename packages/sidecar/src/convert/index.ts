export { conversionFront } from "./conversion-front.ts";
export { type ConversionOptions, type CorsOptions, servicesOf } from "./conversion-options.ts";
export { Cors } from "./cors.ts";
export { type Exchange, exchangeOf, streamExchange } from "./exchange.ts";
export { type CallerProtocol, type Plan, planOf } from "./plan.ts";
export { type ConverterOptions, ProtocolConverter } from "./protocol-converter.ts";
