/** Shared by the inspector tests: a strict reader of Prometheus text, and an SSE reader. */

/** One sample: metric name, labels, value. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (-?[0-9.e+]+|NaN|[+-]Inf)$`);
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;

/**
 * Parse the text exposition format 0.0.4 strictly: every line is a HELP, a TYPE or a sample;
 * each family has its HELP and TYPE before its samples, once; label values are escaped.
 * Throws on the first line that breaks a rule.
 */
export function parsePrometheus(text: string): { samples: Sample[]; types: Record<string, string>; help: Record<string, string> } {
  if (!text.endsWith("\n")) throw new Error("exposition must end with a line feed");
  const samples: Sample[] = [];
  const types: Record<string, string> = {};
  const help: Record<string, string> = {};
  for (const line of text.slice(0, -1).split("\n")) {
    let m: RegExpExecArray | null;
    if ((m = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(line))) {
      if (help[m[1]!] !== undefined) throw new Error(`second HELP for ${m[1]}`);
      if (/\\[^\\n]/.test(m[2]!.replace(/\\\\/g, ""))) throw new Error(`bad escape in HELP: ${line}`);
      help[m[1]!] = m[2]!.replace(/\\n/g, "\n").replace(/\\\\/g, "\\");
    } else if ((m = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line))) {
      if (types[m[1]!] !== undefined) throw new Error(`second TYPE for ${m[1]}`);
      if (samples.some((s) => s.name === m![1])) throw new Error(`TYPE after samples of ${m[1]}`);
      types[m[1]!] = m[2]!;
    } else if ((m = SAMPLE.exec(line))) {
      const [, name, rawLabels, value] = m;
      if (types[name!] === undefined || help[name!] === undefined) throw new Error(`sample before HELP/TYPE: ${line}`);
      const labels: Record<string, string> = {};
      if (rawLabels) {
        LABEL.lastIndex = 0;
        let end = 0;
        let l: RegExpExecArray | null;
        while (end < rawLabels.length && (l = LABEL.exec(rawLabels))) {
          labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
          end = LABEL.lastIndex;
        }
        if (end !== rawLabels.length) throw new Error(`bad labels: ${line}`);
      }
      samples.push({ name: name!, labels, value: Number(value) });
    } else throw new Error(`not an exposition line: ${JSON.stringify(line)}`);
  }
  return { samples, types, help };
}

/** The value of one sample, by name and (some of) its labels. */
export function sample(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

/** Read Server-Sent Events from a response body, one `{event, data}` at a time. */
export function sseReader(body: ReadableStream<Uint8Array>): { next(): Promise<{ event: string; data: string }>; cancel(): Promise<void> } {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  return {
    async next() {
      for (;;) {
        const end = buffer.indexOf("\n\n");
        if (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = "message";
          const data: string[] = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("event: ")) event = line.slice(7);
            else if (line.startsWith("data: ")) data.push(line.slice(6));
          }
          if (data.length) return { event, data: data.join("\n") };
          continue; // a comment (keep-alive) or a retry line alone
        }
        const { done, value } = await reader.read();
        if (done) throw new Error("the event stream ended");
        buffer += decoder.decode(value, { stream: true });
      }
    },
    cancel: () => reader.cancel(),
  };
}
