// The live progress of `status --watch`, `start --watch` and the demo: on a terminal the view is redrawn
// in place; elsewhere (logs, CI) a new view is printed each time it changes; with --output json|yaml
// each change is one document.
import YAML from 'yaml';
import { formatDuration } from '../domain/duration.js';
import type { MigrationProgress } from '../workflows/messages.js';
import { progressView, type Style } from './render.js';

export interface LiveViewOptions {
  output?: 'table' | 'json' | 'yaml';
  style: Style;
  /** Redraw in place (a terminal) or append. */
  redraw: boolean;
  indent?: string;
  write?: (text: string) => void;
}

export function liveView(options: LiveViewOptions): (p: MigrationProgress) => void {
  const { output = 'table', style, redraw, indent = '', write = (t: string) => process.stdout.write(t) } = options;
  const started = Date.now();
  let drawn = 0;
  let last = '';
  return (p) => {
    if (output !== 'table') {
      const doc = JSON.stringify(p);
      if (doc !== last) write(output === 'json' ? `${doc}\n` : `---\n${YAML.stringify(p)}`);
      last = doc;
      return;
    }
    const view = progressView(p, style).split('\n').map((l) => indent + l).join('\n');
    if (redraw) {
      // Up to the first line of the previous frame, clear to the end, draw the new one.
      const text = `${view}\n${indent}  ${formatDuration(Date.now() - started)} elapsed\n`;
      write(`${drawn ? `\u001b[${drawn}F\u001b[J` : ''}${text}`);
      drawn = text.split('\n').length - 1;
    } else if (view !== last) {
      write(`${indent}[${formatDuration(Date.now() - started)}]\n${view}\n`);
    }
    last = view;
  };
}
