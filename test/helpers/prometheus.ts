import * as assert from 'node:assert/strict';

/**
 * A parser of Prometheus' text exposition format (version 0.0.4), strict: a line it cannot read
 * fails the test. The npm parsers at hand fall short for these tests: parse-prometheus-text-format
 * merges a histogram's labelled series into one, prom2javascript rejects the `Nan` prom-client
 * writes (Prometheus reads floats case-insensitively).
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  /** The sample's own name: a histogram's are `<family>_bucket`, `_sum` and `_count`. */
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: MetricType;
  help: string;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const SUFFIXES: Record<MetricType, string[]> = {
  counter: [''],
  gauge: [''],
  untyped: [''],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

function parseValue(text: string, line: string): number {
  if (/^[+-]?inf$/i.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(text)) return NaN;
  assert.match(text, /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/, `a number in: ${line}`);
  return Number(text);
}

/** `{a="x",b="y\"z"}` at the start of `text`: the labels and what follows the closing brace. */
function parseLabels(text: string, line: string): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let at = 1;
  for (;;) {
    while (text[at] === ' ') at++;
    if (text[at] === '}') return { labels, rest: text.slice(at + 1) };
    const name = LABEL_NAME.exec(text.slice(at))?.[0];
    assert.ok(name && text[at + name.length] === '=' && text[at + name.length + 1] === '"', `a label in: ${line}`);
    at += name.length + 2;
    let value = '';
    for (; text[at] !== '"'; at++) {
      assert.ok(at < text.length, `a closed label value in: ${line}`);
      if (text[at] !== '\\') value += text[at];
      else value += { '\\': '\\', '"': '"', n: '\n' }[text[++at]] ?? assert.fail(`an escape in: ${line}`);
    }
    assert.ok(!(name in labels), `label ${name} once in: ${line}`);
    labels[name] = value;
    at++;
    if (text[at] === ',') at++;
  }
}

export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const family = (name: string) =>
    families.get(name) ?? families.set(name, { name, type: 'untyped', help: '', samples: [] }).get(name)!;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const meta = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
    if (meta) {
      const [, what, name, rest = ''] = meta;
      if (what === 'HELP') family(name).help = rest.replace(/\\(\\|n)/g, (_, c) => (c === 'n' ? '\n' : '\\'));
      else {
        assert.ok(['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest), `a metric type in: ${line}`);
        assert.equal(family(name).samples.length, 0, `TYPE before the samples of ${name}`);
        family(name).type = rest as MetricType;
      }
      continue;
    }
    if (line.startsWith('#')) continue;
    const name = METRIC_NAME.exec(line)?.[0];
    assert.ok(name, `a metric name at the start of: ${line}`);
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest, line));
    const fields = rest.trim().split(/\s+/);
    assert.ok(
      rest.startsWith(' ') && fields.length >= 1 && fields.length <= 2,
      `a value and an optional timestamp in: ${line}`,
    );
    const owner =
      [...families.values()].find((f) => SUFFIXES[f.type].some((suffix) => f.name + suffix === name)) ?? family(name);
    owner.samples.push({ name, labels, value: parseValue(fields[0], line) });
  }
  return families;
}

/** A scrape of a /metrics endpoint, parsed. */
export class Scrape {
  readonly families: Map<string, Family>;

  constructor(
    readonly text: string,
    readonly contentType: string,
  ) {
    this.families = parsePrometheusText(text);
  }

  static async of(url: string): Promise<Scrape> {
    const response = await fetch(url);
    assert.equal(response.status, 200, `GET ${url}`);
    return new Scrape(await response.text(), response.headers.get('content-type') ?? '');
  }

  family(name: string, type: MetricType): Family {
    const family = this.families.get(name);
    assert.ok(family, `the scrape has ${name}`);
    assert.equal(family.type, type, `${name} is a ${type}`);
    return family;
  }

  /** The sample of a counter or gauge whose labels are exactly `labels`; undefined if there is none. */
  sample(name: string, type: 'counter' | 'gauge', labels: Record<string, string> = {}): Sample | undefined {
    return this.family(name, type).samples.find((sample) => sameLabels(sample.labels, labels));
  }

  /** A counter's or a gauge's value (0 when the labelled sample is absent). */
  value(name: string, type: 'counter' | 'gauge', labels: Record<string, string> = {}): number {
    return this.sample(name, type, labels)?.value ?? 0;
  }

  /** A histogram series' count, sum and cumulative buckets (by `le`), checked for consistency. */
  histogram(
    name: string,
    labels: Record<string, string>,
  ): { count: number; sum: number; buckets: Map<number, number> } {
    const series = this.family(name, 'histogram').samples.filter((sample) => {
      const { le: _le, ...others } = sample.labels;
      return sameLabels(others, labels);
    });
    const one = (suffix: string) => series.find((sample) => sample.name === `${name}${suffix}`)?.value;
    const count = one('_count');
    const sum = one('_sum');
    assert.ok(count !== undefined && sum !== undefined, `${name} has a series for ${JSON.stringify(labels)}`);
    const buckets = new Map(
      series
        .filter((s) => s.name === `${name}_bucket`)
        .map((s) => [parseValue(s.labels.le, s.labels.le), s.value] as const),
    );
    const bounds = [...buckets.keys()].sort((a, b) => a - b);
    for (let i = 1; i < bounds.length; i++)
      assert.ok(buckets.get(bounds[i])! >= buckets.get(bounds[i - 1])!, `${name} buckets are cumulative`);
    assert.equal(buckets.get(Infinity), count, `${name}: the +Inf bucket holds every observation`);
    return { count, sum, buckets };
  }
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}
