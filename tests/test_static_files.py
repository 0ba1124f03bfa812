"""Lint the page's JS and CSS (ui/static/): every file parses with a real parser, and a syntax error
fails with its file and line. Unit tier: no gradio, no app, well under a second."""

from __future__ import annotations

from pathlib import Path

import esprima
import pytest
import tinycss2

STATIC = Path(__file__).resolve().parent.parent / "ui" / "static"
JS_FILES = sorted(STATIC.glob("*.js"))
CSS_FILES = sorted(STATIC.glob("*.css"))

# Gradio runs a component's js_on_load as a function body (Function('element', 'trigger', 'props',
# 'server', 'upload', 'watch', text)) and puts an event's js, a function expression, inside
# parentheses; both are valid inside this wrapper, which adds no line, so lines match the file's.
JS_OPEN = "(function (element, trigger, props, server, upload, watch) {"
JS_CLOSE = "\n});\n"


def js_errors(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    try:
        esprima.parseScript(JS_OPEN + text + JS_CLOSE)
    except esprima.Error as e:
        why = e.message.split(": ", 1)[-1]  # esprima's message starts "Line N: "
        last = text.count("\n") + (not text.endswith("\n"))
        if e.lineNumber > last:  # found at the wrapper's closing line
            return [f"{path.name}:{last}: {why} at the end of the file (an unclosed bracket or string?)"]
        return [f"{path.name}:{e.lineNumber}: {why}"]
    return []


SENTINEL = "end-of-file-sentinel"  # appended: a block left open swallows it, an unclosed comment hides it


def _tokens(nodes, opened=None):
    """(token, the outermost block or function it sits in) for every token, nested ones included."""
    for n in nodes:
        yield n, opened
        if isinstance(getattr(n, "content", None), list) or isinstance(getattr(n, "arguments", None), list):
            yield from _tokens(n.arguments if n.type == "function" else n.content, opened or n)


def css_errors(path: Path) -> list[str]:
    """tinycss2 recovers from errors as browsers do (the rest of the sheet still applies); this reports
    what it recovered from, plus what CSS's grammar accepts but no one writes on purpose."""
    text = path.read_text(encoding="utf-8")
    errors, sentinel_seen = [], False
    for tok, opened in _tokens(tinycss2.parse_component_value_list(text + f"\n@{SENTINEL};\n")):
        if tok.type == "error":
            errors.append(f"{path.name}:{tok.source_line}: {tok.message}")
        elif tok.type == "at-keyword" and tok.value == SENTINEL:
            sentinel_seen = True
            if opened is not None:
                errors.append(f"{path.name}:{opened.source_line}: this {opened.type} is never closed")
    if not sentinel_seen:
        errors.append(f"{path.name}: the file ends inside a comment or a string (an unclosed /* or quote)")
    rules = tinycss2.parse_stylesheet(text, skip_comments=True, skip_whitespace=True)
    errors += [f"{path.name}:{r.source_line}: {r.message}" for r in rules if r.type == "error"]
    for rule in rules:
        if rule.type != "qualified-rule":
            continue
        for item in tinycss2.parse_blocks_contents(rule.content, skip_comments=True, skip_whitespace=True):
            where = f"{path.name}:{item.source_line}"
            if item.type == "error":
                errors.append(f"{where}: {item.message}")
            elif item.type == "qualified-rule":  # CSS nesting: none here, so a '}' or ':' went missing
                errors.append(f"{where}: a rule inside a rule (a missing '}}' or ':' above?)")
            elif item.type == "declaration" and any(t.type == "literal" and t.value in ":{}" for t in item.value):
                errors.append(f"{where}: '{item.name}' has a stray ':' or brace in its value (a missing ';'?)")
            elif item.type == "declaration" and not [t for t in item.value if t.type not in ("whitespace", "comment")]:
                errors.append(f"{where}: '{item.name}' has no value")
    return list(dict.fromkeys(errors))  # each once


def test_there_are_files_to_lint():
    assert JS_FILES and CSS_FILES, f"no .js or .css in {STATIC}"


@pytest.mark.parametrize("path", JS_FILES, ids=lambda p: p.name)
def test_js_parses(path):
    assert not js_errors(path), "\n".join(js_errors(path))


@pytest.mark.parametrize("path", CSS_FILES, ids=lambda p: p.name)
def test_css_parses(path):
    assert not css_errors(path), "\n".join(css_errors(path))


@pytest.mark.parametrize("text, line", [
    ("() => {\n  const a = [1, 2];\n  return a.map(x => x *);\n}\n", 3),  # an event's js
    ("const f = (b) => {\n  b.x = `${b.y}`;\n};\nelement.addEventListener('x', f;\n", 4),  # a js_on_load body
])
def test_a_broken_js_file_fails_with_its_line(tmp_path, text, line):
    bad = tmp_path / "broken.js"
    bad.write_text(text)
    assert [e.split(":")[:2] for e in js_errors(bad)] == [["broken.js", str(line)]]


def test_modern_js_that_the_page_uses_parses(tmp_path):
    ok = tmp_path / "ok.js"
    ok.write_text("const {a, ...rest} = {a: 1, b: 2};\nlet xs = [...Object.keys(rest)];\n"
                  "const f = async (n = 1) => `${n} ${xs.length}`;\nclass C { m() { return [...xs]; } }\n"
                  "return f(2).then(s => s.replace(/[^a-z0-9]+/g, '-'));\n")
    assert js_errors(ok) == []


@pytest.mark.parametrize("text, line", [
    (".a {color:red}\n.b {color:red\n.c {margin:0}\n", 2),  # an unclosed rule
    (".a {color:red}\n.b {color:red}}\n", 2),  # a stray brace
    (".a {\n  color:red\n  margin:0\n}\n", 2),  # a missing ';'
    (".a {color: red}\n.b {width:min(3px, 4px}\n", 2),  # an unclosed parenthesis
    (".a {color:red}\n.b {color:}\n", 2),  # no value
])
def test_a_broken_css_file_fails_with_its_line(tmp_path, text, line):
    bad = tmp_path / "broken.css"
    bad.write_text(text)
    errors = css_errors(bad)
    assert errors and all(e.startswith(f"broken.css:{line}:") for e in errors), errors
