// A Vega-Lite spec drawn as SVG text: compiled to Vega, run by a headless vega.View (renderer
// 'none': no canvas, no browser, no DOM) and serialized by Vega's own SVG renderer. One copy for
// the product (`hearth bench --svg`, the console's measurement) and the project's bench/ reports.

import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export type { TopLevelSpec } from 'vega-lite';

export async function vegaLiteSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
