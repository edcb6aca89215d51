// The code editor: CodeMirror 6 with JavaScript or Python highlighting, and a deploy's compile
// errors shown as diagnostics at their line (underlined, with the message in the gutter and on hover).

import { javascript } from '@codemirror/lang-javascript';
import { python } from '@codemirror/lang-python';
import { lintGutter, setDiagnostics, type Diagnostic } from '@codemirror/lint';
import { Compartment, EditorState } from '@codemirror/state';
import { EditorView } from '@codemirror/view';
import { basicSetup } from 'codemirror';
import type { Problem } from './api.js';

export interface CodeEditor {
  readonly view: EditorView;
  text(): string;
  setText(text: string): void;
  setLanguage(runtime: string): void;
  /** Problems with a line go at their line; none clears them. */
  showProblems(problems: Problem[]): void;
  /** Puts the cursor at a line (1-based) and column (1-based). */
  goTo(line: number, column?: number): void;
  destroy(): void;
}

function languageOf(runtime: string) {
  return runtime === 'python3' ? python() : javascript({ typescript: false });
}

export function codeEditor(parent: HTMLElement, text: string, runtime: string, onChange: () => void, label: string): CodeEditor {
  const language = new Compartment();
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: text,
      extensions: [
        // Tab is left to the page, so the keyboard can leave the editor as any field (CodeMirror's
        // own default, for that reason); Ctrl-] and Ctrl-[ indent, Enter keeps the indentation.
        basicSetup,
        // The page's policy allows style elements with this response's nonce only.
        EditorView.cspNonce.of(document.querySelector<HTMLMetaElement>('meta[name="hearth-style-nonce"]')?.content ?? ''),
        language.of(languageOf(runtime)),
        lintGutter(),
        EditorView.contentAttributes.of({ 'aria-label': label }),
        EditorView.updateListener.of((u) => { if (u.docChanged) onChange(); }),
      ],
    }),
  });
  return {
    view,
    text: () => view.state.doc.toString(),
    setText: (t) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: t } }),
    setLanguage: (r) => view.dispatch({ effects: language.reconfigure(languageOf(r)) }),
    showProblems(problems) {
      const doc = view.state.doc;
      const diagnostics: Diagnostic[] = [];
      for (const p of problems) {
        if (p.line === undefined || p.line < 1 || p.line > doc.lines) continue;
        const line = doc.line(p.line);
        const from = Math.min(line.to, line.from + Math.max(0, (p.column ?? 1) - 1));
        diagnostics.push({ from, to: Math.max(from, line.to), severity: 'error', message: p.message, source: 'deploy' });
      }
      view.dispatch(setDiagnostics(view.state, diagnostics));
    },
    goTo(lineNo, column = 1) {
      const doc = view.state.doc;
      const line = doc.line(Math.min(Math.max(1, lineNo), doc.lines));
      const pos = Math.min(line.to, line.from + column - 1);
      view.dispatch({ selection: { anchor: pos }, scrollIntoView: true });
      view.focus();
    },
    destroy: () => view.destroy(),
  };
}
