/**
 * The bench's chart, drawn with Vega-Lite and rendered to SVG by Vega in Node
 * (renderer "none": no browser, no canvas).
 */

export interface BarRow {
  /** "up", "up until all answer", "preview", "down / destroy" */
  metric: string;
  tool: string;
  median: number;
  min: number;
  max: number;
}

export interface ScaleRow {
  containers: number;
  /** "tutorial (ours)", ..., "this project" */
  tool: string;
  /** CPU-seconds per container started (up until all answer) */
  cpuPerContainer: number;
  /** up until all apps answer */
  seconds: number;
}

export async function renderChart(bars: BarRow[], scale: ScaleRow[]): Promise<string> {
  // Both packages are ES modules; import() loads them from this CommonJS file.
  const vegaLite = await import("vega-lite");
  const vega = await import("vega");
  const tools = [...new Set(bars.map((row) => row.tool))];
  const order = ["up", "up until all answer", "preview", "down / destroy"];
  const present = [...new Set(bars.map((row) => row.metric))];
  const metrics = [...order.filter((m) => present.includes(m)), ...present.filter((m) => !order.includes(m))];
  const panels: object[] = [
    {
      title: "Same engine, alternating rounds: median (bar) and min-max (rule), seconds",
      data: { values: bars },
      facet: { column: { field: "metric", type: "nominal", sort: metrics, title: null } },
      spec: {
        width: 150,
        height: 220,
        layer: [
          {
            mark: "bar",
            encoding: {
              x: { field: "tool", type: "nominal", scale: { domain: tools }, axis: { title: null, labelAngle: -30 } },
              y: { field: "median", type: "quantitative", title: "seconds" },
              color: { field: "tool", type: "nominal", scale: { domain: tools }, legend: null },
            },
          },
          {
            mark: { type: "rule", strokeWidth: 2 },
            encoding: {
              x: { field: "tool", type: "nominal", scale: { domain: tools } },
              y: { field: "min", type: "quantitative" },
              y2: { field: "max" },
            },
          },
          {
            mark: { type: "text", dy: -8, fontSize: 10 },
            encoding: {
              x: { field: "tool", type: "nominal", scale: { domain: tools } },
              y: { field: "max", type: "quantitative" },
              text: { field: "median", type: "quantitative", format: ".1f" },
            },
          },
        ],
      },
      resolve: { scale: { y: "independent" } },
    },
  ];
  if (scale.length > 0) {
    const line = (field: string, title: string) => ({
      width: 300,
      height: 240,
      title,
      layer: [
        {
          mark: { type: "point", filled: true, opacity: 0.6 },
          encoding: {
            x: { field: "containers", type: "quantitative", title: "containers" },
            y: { field, type: "quantitative", title: null },
            color: { field: "tool", type: "nominal" },
          },
        },
        {
          mark: { type: "line" },
          encoding: {
            x: { field: "containers", type: "quantitative" },
            y: { aggregate: "median", field, type: "quantitative" },
            color: { field: "tool", type: "nominal" },
          },
        },
      ],
    });
    panels.push({
      data: { values: scale },
      hconcat: [
        line("seconds", "up until every app answers (s), by container count"),
        line("cpuPerContainer", "machine CPU-seconds per container started"),
      ],
    });
  }
  const spec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    background: "white",
    vconcat: panels,
    // Tools and operations are different categories: one color scale each.
    resolve: { scale: { color: "independent" } },
  };
  // biome-ignore lint/suspicious/noExplicitAny: the spec is checked by Vega-Lite at compile time.
  const compiled = vegaLite.compile(spec as any).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
