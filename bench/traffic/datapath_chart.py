#!/usr/bin/env python3
"""datapath_chart.py results.jsonl out.png

Draws the traffic benchmark's ratios against the number of rules, one line per mechanism (Membrane's eBPF map,
iptables legacy, iptables nft), one panel per metric, ratio to "none" of the same round (median over rounds; for
latency none/variant, so 1.0 = as fast as no enforcement everywhere). Pure Python (zlib + struct): no plotting
library is needed on the benchmark machine.
"""
import json, statistics, struct, sys, zlib
from collections import defaultdict

# 5x7 glyphs, rows top to bottom, '#' = ink. Labels are drawn upper-case.
FONT = {
    " ": ["     "] * 7,
    "0": [" ### ", "#   #", "#  ##", "# # #", "##  #", "#   #", " ### "],
    "1": ["  #  ", " ##  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "],
    "2": [" ### ", "#   #", "    #", "   # ", "  #  ", " #   ", "#####"],
    "3": ["#####", "   # ", "  #  ", "   # ", "    #", "#   #", " ### "],
    "4": ["   # ", "  ## ", " # # ", "#  # ", "#####", "   # ", "   # "],
    "5": ["#####", "#    ", "#### ", "    #", "    #", "#   #", " ### "],
    "6": ["  ## ", " #   ", "#    ", "#### ", "#   #", "#   #", " ### "],
    "7": ["#####", "    #", "   # ", "  #  ", " #   ", " #   ", " #   "],
    "8": [" ### ", "#   #", "#   #", " ### ", "#   #", "#   #", " ### "],
    "9": [" ### ", "#   #", "#   #", " ####", "    #", "   # ", " ##  "],
    "A": [" ### ", "#   #", "#   #", "#####", "#   #", "#   #", "#   #"],
    "B": ["#### ", "#   #", "#   #", "#### ", "#   #", "#   #", "#### "],
    "C": [" ### ", "#   #", "#    ", "#    ", "#    ", "#   #", " ### "],
    "D": ["#### ", "#   #", "#   #", "#   #", "#   #", "#   #", "#### "],
    "E": ["#####", "#    ", "#    ", "#### ", "#    ", "#    ", "#####"],
    "F": ["#####", "#    ", "#    ", "#### ", "#    ", "#    ", "#    "],
    "G": [" ### ", "#   #", "#    ", "# ###", "#   #", "#   #", " ####"],
    "H": ["#   #", "#   #", "#   #", "#####", "#   #", "#   #", "#   #"],
    "I": [" ### ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "],
    "J": ["  ###", "   # ", "   # ", "   # ", "   # ", "#  # ", " ##  "],
    "K": ["#   #", "#  # ", "# #  ", "##   ", "# #  ", "#  # ", "#   #"],
    "L": ["#    ", "#    ", "#    ", "#    ", "#    ", "#    ", "#####"],
    "M": ["#   #", "## ##", "# # #", "# # #", "#   #", "#   #", "#   #"],
    "N": ["#   #", "#   #", "##  #", "# # #", "#  ##", "#   #", "#   #"],
    "O": [" ### ", "#   #", "#   #", "#   #", "#   #", "#   #", " ### "],
    "P": ["#### ", "#   #", "#   #", "#### ", "#    ", "#    ", "#    "],
    "Q": [" ### ", "#   #", "#   #", "#   #", "# # #", "#  # ", " ## #"],
    "R": ["#### ", "#   #", "#   #", "#### ", "# #  ", "#  # ", "#   #"],
    "S": [" ####", "#    ", "#    ", " ### ", "    #", "    #", "#### "],
    "T": ["#####", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  "],
    "U": ["#   #", "#   #", "#   #", "#   #", "#   #", "#   #", " ### "],
    "V": ["#   #", "#   #", "#   #", "#   #", "#   #", " # # ", "  #  "],
    "W": ["#   #", "#   #", "#   #", "# # #", "# # #", "# # #", " # # "],
    "X": ["#   #", "#   #", " # # ", "  #  ", " # # ", "#   #", "#   #"],
    "Y": ["#   #", "#   #", " # # ", "  #  ", "  #  ", "  #  ", "  #  "],
    "Z": ["#####", "    #", "   # ", "  #  ", " #   ", "#    ", "#####"],
    ".": ["     ", "     ", "     ", "     ", "     ", " ##  ", " ##  "],
    ",": ["     ", "     ", "     ", "     ", " ##  ", "  #  ", " #   "],
    "-": ["     ", "     ", "     ", "#####", "     ", "     ", "     "],
    "/": ["    #", "    #", "   # ", "  #  ", " #   ", "#    ", "#    "],
    "(": ["   # ", "  #  ", " #   ", " #   ", " #   ", "  #  ", "   # "],
    ")": [" #   ", "  #  ", "   # ", "   # ", "   # ", "  #  ", " #   "],
    ":": ["     ", " ##  ", " ##  ", "     ", " ##  ", " ##  ", "     "],
    "=": ["     ", "     ", "#####", "     ", "#####", "     ", "     "],
    "%": ["##   ", "##  #", "   # ", "  #  ", " #   ", "#  ##", "   ##"],
    "+": ["     ", "  #  ", "  #  ", "#####", "  #  ", "  #  ", "     "],
}
COLORS = {"membrane": (0, 110, 200), "ipt-legacy": (220, 120, 0), "ipt-nft": (200, 30, 60)}
NAMES = {"membrane": "MEMBRANE EBPF", "ipt-legacy": "IPTABLES LEGACY", "ipt-nft": "IPTABLES NFT"}
PANELS = [("tcp_gbps", "TCP THROUGHPUT", False), ("udp64_kpps", "UDP 64B PACKET RATE", False),
          ("rr_p50_us", "TCP RR LATENCY P50 (NONE/X)", True), ("crr_cps", "TCP CONNECTION RATE", False)]


class Canvas:
    def __init__(self, w, h):
        self.w, self.h = w, h
        self.px = bytearray(b"\xff" * (w * h * 3))

    def dot(self, x, y, c):
        if 0 <= x < self.w and 0 <= y < self.h:
            i = (y * self.w + x) * 3
            self.px[i:i + 3] = bytes(c)

    def rect(self, x0, y0, x1, y1, c):
        for y in range(max(y0, 0), min(y1, self.h)):
            for x in range(max(x0, 0), min(x1, self.w)):
                self.dot(x, y, c)

    def line(self, x0, y0, x1, y1, c, width=1):
        n = max(abs(x1 - x0), abs(y1 - y0), 1)
        for i in range(n + 1):
            x, y = round(x0 + (x1 - x0) * i / n), round(y0 + (y1 - y0) * i / n)
            self.rect(x - width // 2, y - width // 2, x - width // 2 + width, y - width // 2 + width, c)

    def text(self, x, y, s, c=(0, 0, 0), scale=2):
        for ch in s.upper():
            glyph = FONT.get(ch, FONT[" "])
            for r, row in enumerate(glyph):
                for col, bit in enumerate(row):
                    if bit == "#":
                        self.rect(x + col * scale, y + r * scale, x + (col + 1) * scale, y + (r + 1) * scale, c)
            x += 6 * scale

    def png(self, path):
        raw = b"".join(b"\x00" + bytes(self.px[y * self.w * 3:(y + 1) * self.w * 3]) for y in range(self.h))
        chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
        with open(path, "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", self.w, self.h, 8, 2, 0, 0, 0))
                    + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def series(rows):
    """{metric: {mechanism: {rules: median ratio}}}"""
    base = {r["round"]: r for r in rows if r["target"] == "none"}
    out = {}
    for key, _, inverse in PANELS:
        acc = defaultdict(lambda: defaultdict(list))
        for r in rows:
            b = base.get(r["round"])
            if r["target"] == "none" or not b or not r.get(key) or not b.get(key):
                continue
            acc[r["mechanism"]][r["rules"]].append(b[key] / r[key] if inverse else r[key] / b[key])
        out[key] = {m: {n: statistics.median(v) for n, v in sorted(d.items())} for m, d in acc.items()}
    return out


def main():
    rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    data = series(rows)
    pw, ph, margin = 520, 360, 70
    canvas = Canvas(2 * pw, 2 * ph + 110)
    seconds, rounds = max(r.get("T", 0) for r in rows), max(r["round"] for r in rows)
    note = f"T={seconds}S, {rounds} ROUND{'S' if rounds > 1 else ''}, MEDIANS"
    if seconds < 5 or rounds < 3:
        note = f"SMOKE RUN ({note}): NOT FIGURES"
    canvas.text(20, 10, "RATIO TO NO ENFORCEMENT (SAME ROUND) VS NUMBER OF RULES / POLICY ENTRIES", scale=2)
    canvas.text(20, 32, note, (90, 90, 90), scale=2)
    lx = 20
    for m in ("membrane", "ipt-legacy", "ipt-nft"):
        canvas.rect(lx, 64, lx + 30, 70, COLORS[m])
        canvas.text(lx + 38, 60, NAMES[m], scale=2)
        lx += 38 + 12 * len(NAMES[m]) + 40
    xs = [10, 1000, 10000]
    for p, (key, title, _) in enumerate(PANELS):
        ox, oy = (p % 2) * pw, 100 + (p // 2) * ph
        x0, x1, y0, y1 = ox + margin, ox + pw - 30, oy + 40, oy + ph - 50
        canvas.text(ox + margin, oy + 12, title, scale=2)
        ymax = 1.2
        to_y = lambda v: round(y1 - (min(v, ymax) / ymax) * (y1 - y0))
        to_x = lambda n: round(x0 + xs.index(n) * (x1 - x0) / (len(xs) - 1)) if n in xs else None
        for g in (0.0, 0.25, 0.5, 0.75, 1.0):
            canvas.line(x0, to_y(g), x1, to_y(g), (225, 225, 225) if g != 1.0 else (150, 150, 150))
            canvas.text(x0 - 60, to_y(g) - 6, f"{g:.2f}", scale=2)
        canvas.line(x0, y0, x0, y1, (0, 0, 0))
        canvas.line(x0, y1, x1, y1, (0, 0, 0))
        for n in xs:
            label = {10: "10", 1000: "1K", 10000: "10K"}[n]
            canvas.text(to_x(n) - 6 * len(label), y1 + 10, label, scale=2)
        for m, pts in data.get(key, {}).items():
            points = [(to_x(n), to_y(v)) for n, v in pts.items() if to_x(n) is not None]
            for (ax, ay), (bx, by) in zip(points, points[1:]):
                canvas.line(ax, ay, bx, by, COLORS.get(m, (0, 0, 0)), width=3)
            for x, y in points:
                canvas.rect(x - 4, y - 4, x + 5, y + 5, COLORS.get(m, (0, 0, 0)))
    canvas.png(sys.argv[2])


if __name__ == "__main__":
    main()
