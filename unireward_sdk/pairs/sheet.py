"""A contact sheet of a pair dataset: for a sample of prompts, the chosen and the rejected candidate side by
side with their scores, as a self-contained HTML page or a PNG image.

Images are shown as thumbnails, videos by their first frame, response texts as text, and files of any other
modality (audio from a plugin...) as a tile labelled with the modality and the file name. Dropped prompts can
be included with the reason they were dropped.
"""

from __future__ import annotations

import base64
import html
import io
import random
import textwrap
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .store import PairDataset

THUMB = 160


def _thumbnail(path: str, modality: str) -> Any:
    from PIL import Image

    if modality == "video":
        import av

        with av.open(path) as container:
            frame = next(container.decode(video=0)).to_image()
    else:
        with Image.open(path) as img:
            frame = img.convert("RGB")
    frame = frame.copy()
    frame.thumbnail((THUMB, THUMB))
    return frame


def _modality_of(path: str) -> str:
    """The modality the registry's plugins give the file; a sheet shows what it cannot tell as a labelled tile."""
    from ..errors import UnknownComponentError
    from ..ingest import modality_of

    try:
        return modality_of(path)
    except UnknownComponentError:
        return "unknown"


def _data_uri(image: Any) -> str:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _fmt(score: dict | None) -> str:
    if not score:
        return "–"
    if score.get("status") != "ok":
        return f"failed ({score.get('status')})"
    return f"{score['value']:g}"


def _entries(ds: PairDataset, sample: int, seed: int, include_dropped: bool) -> list[dict[str, Any]]:
    rows = [r for r in ds.rows() if r["kind"] == "pair" or include_dropped]
    if len(rows) > sample:
        rows = sorted(random.Random(seed).sample(rows, sample), key=lambda r: r["index"])
    return rows


def _side(ds: PairDataset, candidate: dict[str, Any]) -> tuple[Any, str]:
    """(thumbnail or None, text) of a stored candidate."""
    if candidate.get("path"):
        path = ds.resolve(candidate["path"])
        modality = candidate.get("modality") or _modality_of(path)
        if modality not in ("image", "video"):  # nothing to draw: a tile that names the modality and the file
            return None, f"[{modality}] {Path(path).name}"
        try:
            return _thumbnail(path, modality), Path(path).name
        except Exception as exc:  # noqa: BLE001 - a sheet shows an unreadable file instead of failing
            return None, f"{Path(path).name} (unreadable: {exc})"
    return None, candidate.get("text") or ""


def write_html(ds: PairDataset, output: Path, rows: list[dict[str, Any]]) -> Path:
    parts = ["<!doctype html><meta charset='utf-8'><title>UniReward pairs</title><style>"
             "body{font-family:sans-serif;margin:1em}td,th{border:1px solid #ccc;padding:6px;vertical-align:top;"
             "max-width:22em}table{border-collapse:collapse}.c{background:#eaffea}.r{background:#ffecec}"
             ".d{color:#a00}</style>",
             f"<h1>Pairs: {html.escape(str(ds.root))}</h1>",
             f"<p>{len(rows)} prompts shown; judge {html.escape(str(ds.meta['config'].get('model') or ds.meta['config'].get('judge_factory')))}</p>",
             "<table><tr><th>#</th><th>prompt</th><th>chosen</th><th>rejected</th></tr>"]
    for row in rows:
        rec = row["record"]
        prompt_text = html.escape(rec.get("prompt") or rec.get("question") or "")
        if row["kind"] != "pair":
            parts.append(f"<tr><td>{row['index']}</td><td>{prompt_text}</td><td colspan=2 class='d'>dropped: "
                         f"{html.escape(rec['reason'])} — {html.escape(rec.get('detail', ''))}</td></tr>")
            continue
        context = ""
        for p in rec.get("context", []):
            thumb, _ = _side(ds, {"path": p, "modality": _modality_of(p)})
            if thumb is not None:
                context += f"<br><img src='{_data_uri(thumb)}'>"
        cells = []
        for key, score_key, css in (("chosen", "chosen_score", "c"), ("rejected", "rejected_score", "r")):
            thumb, text = _side(ds, rec[key])
            body = f"<img src='{_data_uri(thumb)}'><br>" if thumb is not None else ""
            body += html.escape(text)
            cells.append(f"<td class='{css}'>{body}<br><b>score {_fmt(rec.get(score_key))}</b></td>")
        parts.append(f"<tr><td>{row['index']}</td><td>{prompt_text}{context}</td>{''.join(cells)}</tr>")
    parts.append("</table>")
    output.write_text("\n".join(parts), encoding="utf-8")
    return output


def write_png(ds: PairDataset, output: Path, rows: list[dict[str, Any]]) -> Path:
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default()
    col, pad, head = THUMB + 20, 10, 40
    text_w = 220
    row_h = THUMB + 60
    sheet = Image.new("RGB", (text_w + 2 * col + 2 * pad, head + row_h * max(1, len(rows))), "white")
    draw = ImageDraw.Draw(sheet)
    draw.text((pad, 12), f"prompt / chosen (green) / rejected (red) - {len(rows)} prompts", fill="black", font=font)
    for n, row in enumerate(rows):
        y = head + n * row_h
        rec = row["record"]
        prompt_text = f"#{row['index']} " + (rec.get("prompt") or rec.get("question") or "")
        draw.multiline_text((pad, y), "\n".join(textwrap.wrap(prompt_text, 34)[:5]), fill="black", font=font)
        for k, path in enumerate(rec.get("context", [])[:2]):  # the image / video asked about
            thumb, _ = _side(ds, {"path": path, "modality": _modality_of(path)})
            if thumb is not None:
                thumb.thumbnail((THUMB // 2, THUMB // 2))
                sheet.paste(thumb, (pad + k * (THUMB // 2 + 6), y + 70))
        if row["kind"] != "pair":
            detail = f"dropped: {rec['reason']}\n" + "\n".join(textwrap.wrap(rec.get("detail", ""), 60)[:4])
            draw.multiline_text((text_w + pad, y), detail, fill=(170, 0, 0), font=font)
            continue
        for k, (key, score_key, colour) in enumerate((("chosen", "chosen_score", (0, 140, 0)),
                                                     ("rejected", "rejected_score", (190, 0, 0)))):
            x = text_w + pad + k * col
            thumb, text = _side(ds, rec[key])
            draw.rectangle((x - 2, y - 2, x + THUMB + 2, y + THUMB + 2), outline=colour, width=2)
            if thumb is not None:
                sheet.paste(thumb, (x, y))
            else:
                draw.multiline_text((x + 4, y + 4), "\n".join(textwrap.wrap(text, 26)[:10]), fill="black", font=font)
            draw.text((x, y + THUMB + 8), f"{key} score {_fmt(rec.get(score_key))}", fill=colour, font=font)
    sheet.save(output)
    return output


def write_sheet(source: Any, output: str | Path, *, sample: int = 8, seed: int = 0,
                include_dropped: bool = False) -> Path:
    """Write a contact sheet; the format follows the suffix (``.html`` or ``.png``)."""
    ds = source if isinstance(source, PairDataset) else PairDataset(source)
    output = Path(output)
    suffix = output.suffix.lower()
    if suffix not in (".html", ".htm", ".png"):
        raise ConfigError(f"cannot write a contact sheet as '{suffix or output.name}'", who=str(output),
                          fix="Name the output .html or .png")
    output.parent.mkdir(parents=True, exist_ok=True)
    rows = _entries(ds, sample, seed, include_dropped)
    return write_png(ds, output, rows) if suffix == ".png" else write_html(ds, output, rows)
