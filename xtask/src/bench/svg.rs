//! The phase timeline as an SVG picture (hand-written SVG, no
//! dependencies): one horizontal bar per system, one coloured segment per
//! phase, on the wall clock from power-on. A second panel zooms in on the
//! systems that finish quickly.

use std::fmt::Write;

use super::boot::Run;
use super::timeline::PHASES;

const WIDTH: f64 = 960.0;
const LEFT: f64 = 170.0;
const RIGHT: f64 = 90.0;
const BAR: f64 = 24.0;
const GAP: f64 = 14.0;

/// The colour of phase `name`.
fn colour(name: &str) -> &'static str {
    match name {
        "firmware" => "#8da0cb",
        "first kernel" => "#a6d854",
        "modules" => "#ffd92f",
        "dhcp" => "#e78ac3",
        "config" => "#66c2a5",
        "download" => "#fc8d62",
        "kexec" => "#e5c494",
        "target kernel" => "#b3b3b3",
        _ => "#000000",
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A tick step giving at most about ten ticks up to `max`.
fn tick_step(max: f64) -> f64 {
    let raw = (max / 10.0).max(1e-3);
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
}

/// One panel: bars for `runs` on a scale up to `max` seconds, at `y`.
/// Returns the height used.
fn panel(out: &mut String, title: &str, runs: &[&Run], max: f64, y: f64) -> f64 {
    let plot = WIDTH - LEFT - RIGHT;
    let x = |t: f64| LEFT + plot * (t / max).clamp(0.0, 1.0);
    let _ = writeln!(
        out,
        r#"<text x="10" y="{:.1}" font-weight="bold">{}</text>"#,
        y + 14.0,
        esc(title)
    );
    let top = y + 26.0;
    let height = runs.len() as f64 * (BAR + GAP);
    // Grid and axis.
    let step = tick_step(max);
    let mut t = 0.0;
    while t <= max + 1e-9 {
        let _ = writeln!(
            out,
            r##"<line x1="{0:.1}" y1="{1:.1}" x2="{0:.1}" y2="{2:.1}" stroke="#dddddd"/><text x="{0:.1}" y="{3:.1}" text-anchor="middle" font-size="11">{4}</text>"##,
            x(t),
            top - 4.0,
            top + height,
            top + height + 14.0,
            if step < 1.0 {
                format!("{t:.1}")
            } else {
                format!("{t:.0}")
            }
        );
        t += step;
    }
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="11">seconds from power-on (wall clock)</text>"#,
        LEFT + plot / 2.0,
        top + height + 28.0
    );
    for (i, r) in runs.iter().enumerate() {
        let by = top + i as f64 * (BAR + GAP);
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            LEFT - 8.0,
            by + BAR / 2.0 + 4.0,
            esc(r.system.title())
        );
        for p in &r.timeline.phases {
            let (x0, x1) = (x(p.start), x(p.end));
            let _ = writeln!(
                out,
                r##"<rect x="{x0:.2}" y="{by:.1}" width="{:.2}" height="{BAR}" fill="{}" stroke="#ffffff" stroke-width="0.5"><title>{}: {:.2} s ({:.2} → {:.2})</title></rect>"##,
                (x1 - x0).max(0.0),
                colour(p.name),
                esc(p.name),
                p.secs(),
                p.start,
                p.end
            );
        }
        let end = r.timeline.phases.last().map_or(0.0, |p| p.end);
        let label = match (r.total(), r.timeline.unfinished) {
            (Some(t), _) => format!("{t:.1} s"),
            (None, Some(p)) if r.failed => format!("failed in {p}"),
            (None, Some(p)) => {
                // Stopped by the cap: a hatched segment to the cap.
                let _ = writeln!(
                    out,
                    r##"<rect x="{:.2}" y="{by:.1}" width="{:.2}" height="{BAR}" fill="url(#hatch)" stroke="#999999"><title>{}: not finished when the run was stopped at {:.0} s</title></rect>"##,
                    x(end),
                    (x(r.cap) - x(end)).max(0.0),
                    esc(p),
                    r.cap
                );
                format!("> {:.0} s", r.cap)
            }
            (None, None) => String::new(),
        };
        let lx = x(r.total().unwrap_or(if r.failed { end } else { r.cap }));
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" font-size="12">{}</text>"#,
            lx + 5.0,
            by + BAR / 2.0 + 4.0,
            esc(&label)
        );
    }
    height + 26.0 + 36.0
}

/// The picture for `runs`, with `subtitle` (date, QEMU version).
pub fn timeline(runs: &[Run], subtitle: &str) -> String {
    let all: Vec<&Run> = runs.iter().collect();
    let max_all = runs
        .iter()
        .map(|r| {
            r.total().unwrap_or(if r.failed {
                r.timeline.last_line
            } else {
                r.cap
            })
        })
        .fold(1.0, f64::max);
    let fast: Vec<&Run> = runs
        .iter()
        .filter(|r| r.total().is_some_and(|t| t < max_all / 3.0))
        .collect();
    let mut body = String::new();
    let mut y = 44.0;
    y += panel(&mut body, "All systems", &all, max_all * 1.02, y);
    if fast.len() >= 2 {
        let max_fast = fast.iter().filter_map(|r| r.total()).fold(1.0, f64::max);
        y += panel(&mut body, "Zoom", &fast, max_fast * 1.02, y);
    }
    // Legend.
    let mut lx = LEFT;
    for p in PHASES {
        let _ = writeln!(
            body,
            r##"<rect x="{lx:.1}" y="{y:.1}" width="12" height="12" fill="{}"/><text x="{:.1}" y="{:.1}" font-size="12">{}</text>"##,
            colour(p),
            lx + 16.0,
            y + 10.5,
            esc(p)
        );
        lx += 16.0 + 7.0 * p.len() as f64 + 18.0;
    }
    y += 24.0;
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{y:.0}" viewBox="0 0 {WIDTH} {y:.0}" font-family="sans-serif" font-size="13">
<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#f4f4f4"/><line x1="0" y1="0" x2="0" y2="6" stroke="#bbbbbb" stroke-width="2"/></pattern></defs>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="10" y="20" font-size="15" font-weight="bold">Netboot to the target's /init with a 64 MiB initrd: phases</text>
<text x="10" y="36" font-size="12">{}</text>
{body}</svg>
"##,
        esc(subtitle)
    )
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn ticks() {
        assert_eq!(tick_step(10.0), 1.0);
        assert_eq!(tick_step(35.0), 5.0);
        assert_eq!(tick_step(240.0), 50.0);
        assert!((tick_step(0.5) - 0.05).abs() < 1e-12);
    }

    #[test]
    fn escapes_text() {
        assert_eq!(esc("a<b & \"c\">"), "a&lt;b &amp; &quot;c&quot;&gt;");
    }
}
