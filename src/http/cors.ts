import type { IncomingMessage, ServerResponse } from "node:http";

type OriginRule = boolean | string | RegExp | readonly (string | RegExp)[];
type OriginCallback = (err: Error | null, origin?: OriginRule) => void;

/**
 * Node-RED's `httpNodeCors` setting: the options object of the `cors` package. Node-RED applies it only
 * to the routes http-in nodes create, so the router applies it itself to every webrtc-out route.
 */
export interface CorsOptions {
  origin?: OriginRule | ((origin: string | undefined, callback: OriginCallback) => void);
  methods?: string | readonly string[];
  allowedHeaders?: string | readonly string[];
  /** The `cors` package's older name for allowedHeaders. */
  headers?: string | readonly string[];
  exposedHeaders?: string | readonly string[];
  credentials?: boolean;
  maxAge?: number;
}

/** What a cross-origin WHEP client must be able to read. */
export const WHEP_EXPOSED_HEADERS = ["Location", "ETag", "Link", "Accept-Patch", "Accept-Post"];
const DEFAULT_METHODS = "GET,HEAD,PUT,PATCH,POST,DELETE";

function list(value: string | readonly string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  return typeof value === "string" ? value : value.join(",");
}

function originMatches(rule: string | RegExp, origin: string): boolean {
  return typeof rule === "string" ? rule === origin : rule.test(origin);
}

/** The Access-Control-Allow-Origin value for `rule`, or undefined for "not allowed". */
function allowedOrigin(rule: OriginRule | undefined, origin: string | undefined): string | undefined {
  if (rule === undefined || rule === "*") return "*";
  if (rule === false) return undefined;
  if (rule === true) return origin;
  if (typeof rule === "string") return rule;
  if (origin === undefined) return undefined;
  const rules: readonly (string | RegExp)[] = rule instanceof RegExp ? [rule] : (rule as (string | RegExp)[]);
  return rules.some((r) => originMatches(r, origin)) ? origin : undefined;
}

function appendVary(res: ServerResponse, field: string): void {
  const current = res.getHeader("Vary");
  const text = Array.isArray(current) ? current.join(", ") : current === undefined ? "" : String(current);
  if (text.split(",").some((f) => f.trim().toLowerCase() === field.toLowerCase() || f.trim() === "*")) return;
  res.setHeader("Vary", text ? `${text}, ${field}` : field);
}

function resolveOrigin(
  options: CorsOptions,
  origin: string | undefined,
  then: (rule: OriginRule | undefined) => void,
): void {
  const rule = options.origin;
  if (typeof rule !== "function") {
    then(rule);
    return;
  }
  try {
    rule(origin, (err, result) => then(err ? false : result));
  } catch {
    then(false);
  }
}

/**
 * Sets the CORS response headers for `req` and calls `then(preflightAnswered)`: true when this was a
 * preflight request, already answered with 204. Does nothing when `options` is undefined.
 */
export function applyCors(
  options: CorsOptions | undefined,
  req: IncomingMessage,
  res: ServerResponse,
  then: (preflightAnswered: boolean) => void,
): void {
  if (!options) {
    then(false);
    return;
  }
  const origin = req.headers.origin;
  resolveOrigin(options, origin, (rule) => {
    const allowed = allowedOrigin(rule, origin);
    if (rule !== undefined && rule !== "*") appendVary(res, "Origin");
    if (allowed !== undefined) res.setHeader("Access-Control-Allow-Origin", allowed);
    if (options.credentials === true) res.setHeader("Access-Control-Allow-Credentials", "true");
    if (!isCorsPreflight(req)) {
      res.setHeader(
        "Access-Control-Expose-Headers",
        list(options.exposedHeaders) ?? WHEP_EXPOSED_HEADERS.join(","),
      );
      then(false);
      return;
    }
    res.setHeader("Access-Control-Allow-Methods", list(options.methods) ?? DEFAULT_METHODS);
    const allowedHeaders = list(options.allowedHeaders ?? options.headers);
    const requested = req.headers["access-control-request-headers"];
    if (allowedHeaders !== undefined) {
      res.setHeader("Access-Control-Allow-Headers", allowedHeaders);
    } else if (requested !== undefined) {
      res.setHeader("Access-Control-Allow-Headers", requested);
      appendVary(res, "Access-Control-Request-Headers");
    }
    if (typeof options.maxAge === "number") res.setHeader("Access-Control-Max-Age", String(options.maxAge));
    res.statusCode = 204;
    res.setHeader("Content-Length", "0");
    res.end();
    then(true);
  });
}

/**
 * A CORS preflight as browsers send one: OPTIONS with Origin and Access-Control-Request-Method. It
 * carries no credentials, so nothing it is answered with may depend on them.
 */
export function isCorsPreflight(req: IncomingMessage): boolean {
  return (
    req.method === "OPTIONS" &&
    req.headers.origin !== undefined &&
    req.headers["access-control-request-method"] !== undefined
  );
}

/** Node-RED's setting as CORS options, or undefined when unset or not an options object. */
export function corsOptionsFrom(setting: unknown): CorsOptions | undefined {
  if (setting === true) return {};
  if (setting && typeof setting === "object" && !Array.isArray(setting)) return setting as CorsOptions;
  return undefined;
}
