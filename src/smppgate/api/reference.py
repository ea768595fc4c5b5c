"""The /docs page: the OpenAPI document rendered as one self-contained HTML page (inline CSS,
no script, no external asset), so it works offline and behind any firewall."""

from __future__ import annotations

import json
from html import escape
from typing import Any

_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:1rem 2rem;
color:#1d2330}
h1{margin-bottom:0}h2{margin-top:2.5rem;border-bottom:1px solid #ccd}
.op{border:1px solid #ccd;border-radius:6px;margin:1rem 0;padding:.5rem 1rem}
.m{display:inline-block;min-width:4rem;font-weight:700;text-transform:uppercase}
.get{color:#06c}.post{color:#080}
code,pre{font-family:ui-monospace,monospace;font-size:13px}
pre{background:#f4f5f8;padding:.6rem;overflow:auto;border-radius:4px}
table{border-collapse:collapse;width:100%;margin:.4rem 0}
td,th{border-bottom:1px solid #e4e6ee;padding:.2rem .4rem;text-align:left;vertical-align:top}
nav a{margin-right:1rem}
"""


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        return f'<a href="#schema-{escape(name)}">{escape(name)}</a>'
    if "oneOf" in schema:
        return " | ".join(_type(s) for s in schema["oneOf"])
    kind = schema.get("type", "any")
    text = " | ".join(kind) if isinstance(kind, list) else str(kind)
    if text == "array" and "items" in schema:
        return f"array of {_type(schema['items'])}"
    if "enum" in schema:
        text += ": " + ", ".join(f"<code>{escape(str(v))}</code>" for v in schema["enum"])
    return escape(text) if "enum" not in schema else text


def _properties(schema: dict[str, Any]) -> str:
    props: dict[str, Any] = schema.get("properties", {})
    if not props:
        return ""
    required = set(schema.get("required", []))
    rows = "".join(
        f"<tr><td><code>{escape(name)}</code>{' *' if name in required else ''}</td>"
        f"<td>{_type(prop)}</td><td>{escape(str(prop.get('description', '')))}</td></tr>"
        for name, prop in props.items()
    )
    return f"<table><tr><th>field</th><th>type</th><th>notes</th></tr>{rows}</table>"


def _operation(path: str, method: str, op: dict[str, Any]) -> str:
    out = [
        f'<div class="op" id="{escape(op.get("operationId", ""))}">',
        f'<div><span class="m {method}">{method}</span> <code>{escape(path)}</code>'
        f" — {escape(op.get('summary', ''))}</div>",
    ]
    if "description" in op:
        out.append(f"<p>{escape(op['description'])}</p>")
    if op.get("security") == []:
        out.append("<p><em>No API key needed.</em></p>")
    params = op.get("parameters", [])
    if params:
        rows = "".join(
            f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p['in'])}</td>"
            f"<td>{_type(p.get('schema', {}))}</td>"
            f"<td>{escape(str(p.get('description', '')))}</td></tr>"
            for p in params
        )
        out.append(
            "<table><tr><th>parameter</th><th>in</th><th>type</th><th>notes</th></tr>"
            f"{rows}</table>"
        )
    body = op.get("requestBody")
    if body:
        media = body["content"]["application/json"]
        out.append(f"<p>Body: {_type(media['schema'])}</p>")
        if "example" in media:
            example = json.dumps(media["example"], indent=2, ensure_ascii=False)
            out.append(f"<pre>{escape(example)}</pre>")
    answers = []
    for status, answer in op.get("responses", {}).items():
        content = answer.get("content", {})
        kinds = ", ".join(
            f"{escape(kind)} {_type(spec.get('schema', {}))}" for kind, spec in content.items()
        )
        answers.append(
            f"<tr><td>{escape(status)}</td><td>{escape(answer['description'])}</td>"
            f"<td>{kinds}</td></tr>"
        )
    out.append(f"<table><tr><th>status</th><th>meaning</th><th>body</th></tr>{''.join(answers)}")
    out.append("</table></div>")
    return "".join(out)


def render_reference_page(document: dict[str, Any]) -> str:
    info = document["info"]
    ops = [
        _operation(path, method, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
    ]
    schemas = [
        f'<h3 id="schema-{escape(name)}">{escape(name)}</h3>{_properties(schema)}'
        for name, schema in document["components"]["schemas"].items()
    ]
    auth = (
        "<p>Send the API key as <code>Authorization: Bearer KEY</code> or "
        "<code>X-API-Key: KEY</code>.</p>"
        if document.get("security")
        else "<p>No API keys are configured: the API listens on loopback only.</p>"
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(info['title'])} API</title><style>{_STYLE}</style></head><body>"
        f"<h1>{escape(info['title'])} API <small>{escape(info['version'])}</small></h1>"
        f"<p>{escape(info.get('description', ''))}</p>{auth}"
        '<nav><a href="#endpoints">Endpoints</a><a href="#schemas">Schemas</a>'
        '<a href="/openapi.json">openapi.json</a></nav>'
        f'<h2 id="endpoints">Endpoints</h2>{"".join(ops)}'
        f'<h2 id="schemas">Schemas</h2>{"".join(schemas)}'
        "</body></html>"
    )
