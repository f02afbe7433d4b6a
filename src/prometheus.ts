/**
 * A hub's counters in the Prometheus text exposition format (version 0.0.4).
 * @module
 */
import { WirehubError } from "./errors.ts";
import type { Hub } from "./hub.ts";

/** The `Content-Type` of {@link prometheus}'s text. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Options of {@link prometheus}. */
export interface PrometheusOptions {
  /**
   * Labels added to every sample (`{ hub: "eu-1" }`), to tell apart several hubs scraped from
   * one process. Names must match `[a-zA-Z_][a-zA-Z0-9_]*`, not start with `__` and not be
   * `code` or `instance_id` (labels of wirehub's own), or {@link prometheus} throws a
   * `WirehubError` (`bad_options`). Default: none.
   */
  readonly labels?: Readonly<Record<string, string>>;
}

type Family = [name: string, type: "gauge" | "counter", help: string, samples: [labels: string, value: number][]];

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A HELP text: backslash and line feed escaped. */
function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** A label value: backslash, double quote and line feed escaped. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function labelSet(pairs: [string, string][]): string {
  return pairs.length === 0 ? "" : `{${pairs.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`;
}

/**
 * `hub.metrics` (and the number of groups) as Prometheus text: `wirehub_sessions`,
 * `wirehub_messages_in_total`, `wirehub_closes_total{code="1000"}`, ... with HELP and TYPE
 * lines. A hub with a cluster (a broker with a store) adds `wirehub_instances` and
 * `wirehub_instance_sessions{instance_id="…"}`, from the instance list as last read from the
 * store (at its last heartbeat, or the inspector's last snapshot or scrape).
 * Serve it with {@link PROMETHEUS_CONTENT_TYPE}, or let the inspector's `metricsPath` do it.
 */
export function prometheus(hub: Hub<any, any>, options: PrometheusOptions = {}): string {
  const constant = Object.entries(options.labels ?? {});
  for (const [name] of constant) {
    if (!LABEL_NAME.test(name) || name.startsWith("__") || name === "code" || name === "instance_id") {
      throw new WirehubError("bad_options", `invalid Prometheus label name "${name}"`);
    }
  }
  const base = labelSet(constant);
  const m = hub.metrics;
  const one = (value: number): [string, number][] => [[base, value]];
  const codes = Object.keys(m.closes).map(Number).sort((a, b) => a - b);
  const families: Family[] = [
    ["wirehub_sessions", "gauge", "Sessions open now (detached sessions waiting to resume included).", one(m.sessions)],
    ["wirehub_groups", "gauge", "Groups with at least one member on this hub.", one(hub.groupMap.size)],
    ["wirehub_sessions_opened_total", "counter", "Sessions opened since the hub started.", one(m.opened)],
    ["wirehub_messages_in_total", "counter", "Frames received.", one(m.messagesIn)],
    ["wirehub_messages_out_total", "counter", "Frames handed to the host, one per recipient.", one(m.messagesOut)],
    ["wirehub_bytes_in_total", "counter", "Bytes received (UTF-16 code units for text frames).", one(m.bytesIn)],
    ["wirehub_bytes_out_total", "counter", "Bytes handed to the host, one count per recipient (UTF-16 code units for text frames).", one(m.bytesOut)],
    ["wirehub_dropped_total", "counter", "Frames dropped by backpressure, rate limiting or a host that refused them.", one(m.dropped)],
    ["wirehub_errors_total", "counter", "Errors reported to the error hook.", one(m.errors)],
    ["wirehub_closes_total", "counter", "Sessions closed, by close code.", codes.map((c) => [labelSet([...constant, ["code", String(c)]]), m.closes[c] ?? 0])],
  ];
  const instances = hub.cluster?.known();
  if (instances) {
    families.push(
      ["wirehub_instances", "gauge", "Instances of the cluster listed in the broker's store (a dead one until it is reaped).", one(instances.length)],
      [
        "wirehub_instance_sessions",
        "gauge",
        "Sessions per instance of the cluster: this hub's now, another's as of its last heartbeat. Every instance reports every instance: do not sum across scrapes.",
        instances.map((e) => [labelSet([...constant, ["instance_id", e.id]]), e.sessions]),
      ],
    );
  }
  let out = "";
  for (const [name, type, help, samples] of families) {
    out += `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
    for (const [labels, value] of samples) out += `${name}${labels} ${value}\n`;
  }
  return out;
}
