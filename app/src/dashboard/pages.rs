//! The area's pages and components.

use super::*;

/// Events per day as bars, with the busiest day's count as the scale.
#[component]
pub fn ActivityChart(days: Vec<(String, i64)>) -> impl IntoView {
    const W: f64 = 720.0;
    const H: f64 = 180.0;
    const LEFT: f64 = 36.0;
    const BOTTOM: f64 = 22.0;
    let max = days.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let total: i64 = days.iter().map(|(_, n)| *n).sum();
    let slot = (W - LEFT) / days.len().max(1) as f64;
    let plot = H - BOTTOM - 8.0;
    let summary = format!(
        "{total} events in the last {} days; the busiest day had {max}.",
        days.len()
    );
    let label = summary.clone();
    let first = days.first().map(|(d, _)| d.clone()).unwrap_or_default();
    let last = days.last().map(|(d, _)| d.clone()).unwrap_or_default();
    view! {
        <svg viewBox=format!("0 0 {W} {H}") class="h-auto w-full text-indigo-500" role="img" aria-label=label data-testid="activity-chart">
            <desc>{summary}</desc>
            <line x1=LEFT y1=H - BOTTOM x2=W y2=H - BOTTOM class="stroke-slate-300 dark:stroke-slate-700" stroke-width="1" />
            <text x=LEFT - 6.0 y=12 text-anchor="end" class="fill-slate-500 text-[10px]">{max}</text>
            <text x=LEFT - 6.0 y=H - BOTTOM text-anchor="end" class="fill-slate-500 text-[10px]">"0"</text>
            {days.into_iter().enumerate().map(|(i, (day, n))| {
                let h = (n as f64 / max as f64) * plot;
                let x = LEFT + i as f64 * slot + slot * 0.15;
                view! {
                    <rect x=format!("{x:.1}") y=format!("{:.1}", H - BOTTOM - h) width=format!("{:.1}", slot * 0.7) height=format!("{h:.1}") rx="2" class="fill-current" data-day=day.clone() data-count=n>
                        <title>{format!("{day}: {n} events")}</title>
                    </rect>
                }
            }).collect_view()}
            <text x=LEFT y=H - 6.0 class="fill-slate-500 text-[10px]">{first}</text>
            <text x=W y=H - 6.0 text-anchor="end" class="fill-slate-500 text-[10px]">{last}</text>
        </svg>
    }
}
