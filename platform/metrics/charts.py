"""The DORA page's charts, drawn on the server as inline SVG: bars per week, no script."""

from dataclasses import dataclass
from datetime import timedelta

from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from metrics.dora import DEFINITIONS, Dora, Figures, seconds

WIDTH_PER_WEEK, HEIGHT, TOP, BOTTOM, LEFT = 64, 150, 18, 22, 4
COLOURS = ("#0d6efd", "#6f42c1")


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float | None]  # one per week, in the unit of `data-value`
    texts: list[str]  # the same values as people read them


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    figure: str  # the window's figure, as people read it
    definition: str
    svg: SafeString


def human_duration(span: timedelta | None) -> str:
    """A duration in its two largest units, e.g. "2 d 3 h", "4 min 10 s"; "—" when none."""
    if span is None:
        return "—"
    seconds = round(span.total_seconds())
    if seconds < 60:
        return f"{max(seconds, 0)} s"
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count or parts:
            parts.append(f"{count} {unit}")
        if len(parts) == 2:
            break
    return " ".join(part for part in parts if not part.startswith("0 ")) or parts[0]


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f} %"


def per_day(rate: float) -> str:
    return f"{rate:.2f}/day"


def _n(number: float) -> str:
    return f"{number:.1f}"


def bar_chart(*, key: str, weeks: list[Figures], series: list[Series]) -> SafeString:
    """Grouped bars, one group per week, scaled to the largest value; empty weeks show none."""
    width = LEFT + WIDTH_PER_WEEK * len(weeks)
    points = [(v, s.texts[i]) for s in series for i, v in enumerate(s.values) if v is not None]
    peak, peak_text = max(points, key=lambda point: point[0], default=(0, "0"))
    peak = peak or 1
    bar = (WIDTH_PER_WEEK - 16) / len(series)
    shapes = []
    for index, week in enumerate(weeks):
        x0 = LEFT + index * WIDTH_PER_WEEK + 8
        label = date_format(week.start, "M j")
        for number, line in enumerate(series):
            value = line.values[index]
            height = 0 if value is None else max(HEIGHT * value / peak, 1 if value else 0)
            y = TOP + HEIGHT - height
            shapes.append(
                format_html(
                    '<rect class="bar" x="{}" y="{}" width="{}" height="{}" '
                    'fill="{}" data-series="{}" data-week="{}" data-value="{}">'
                    "<title>{}, week of {}: {}</title></rect>",
                    _n(x0 + number * bar),
                    _n(y),
                    _n(bar - 2),
                    _n(height),
                    COLOURS[number % len(COLOURS)],
                    line.name,
                    week.start.date().isoformat(),
                    "" if value is None else f"{value:g}",
                    line.name,
                    label,
                    line.texts[index],
                )
            )
        shapes.append(
            format_html(
                '<text x="{}" y="{}" font-size="11" text-anchor="middle" '
                'fill="currentColor">{}</text>',
                _n(x0 + (WIDTH_PER_WEEK - 16) / 2),
                TOP + HEIGHT + 15,
                label,
            )
        )
    legend = format_html(
        '{}<tspan fill="currentColor" class="scale">· top: {}</tspan>',
        format_html_join(
            "",
            '<tspan fill="{}">■ {}</tspan> ',
            ((COLOURS[n % len(COLOURS)], s.name) for n, s in enumerate(series)),
        ),
        peak_text,
    )
    # An image's text alternative (role="img" hides the bars' own titles): every week's values.
    summary = "; ".join(
        f"week of {date_format(week.start, 'M j')}: "
        + ", ".join(f"{line.name} {line.texts[index]}" for line in series)
        for index, week in enumerate(weeks)
    )
    return format_html(
        '<svg class="dora-chart" id="chart-{}" role="img" viewBox="0 0 {} {}" width="{}" '
        'height="{}" xmlns="http://www.w3.org/2000/svg"><title>By week: {}</title>'
        '<text x="{}" y="12" font-size="11" fill="currentColor">{}</text>'
        '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#adb5bd"/>{}</svg>',
        key,
        width,
        TOP + HEIGHT + BOTTOM,
        width,
        TOP + HEIGHT + BOTTOM,
        summary or "no weeks",
        LEFT,
        legend,
        LEFT,
        width,
        TOP + HEIGHT,
        TOP + HEIGHT,
        mark_safe("".join(shapes)),
    )


def charts(*, report: Dora) -> list[Chart]:
    """The four figures of the window, each with its definition and its weekly chart."""
    weeks, total = report.weeks, report.total

    def chart(key, title, figure, *series):
        return Chart(
            key,
            title,
            figure,
            DEFINITIONS[key],
            bar_chart(key=key, weeks=weeks, series=list(series)),
        )

    lead_median = [w.lead_time_median for w in weeks]
    lead_p90 = [w.lead_time_p90 for w in weeks]
    restore = [w.time_to_restore_median for w in weeks]
    rates = [w.change_failure_rate for w in weeks]
    return [
        chart(
            "deployment_frequency",
            "Deployment frequency",
            f"{per_day(total.deployment_frequency)} ({total.deployments} in {report.days} days)",
            Series(
                "deployments per day",
                [w.deployment_frequency for w in weeks],
                [f"{per_day(w.deployment_frequency)} ({w.deployments})" for w in weeks],
            ),
        ),
        chart(
            "lead_time",
            "Lead time",
            f"median {human_duration(total.lead_time_median)}, "
            f"90th percentile {human_duration(total.lead_time_p90)}",
            Series(
                "median",
                [seconds(v) for v in lead_median],
                [human_duration(v) for v in lead_median],
            ),
            Series(
                "90th percentile",
                [seconds(v) for v in lead_p90],
                [human_duration(v) for v in lead_p90],
            ),
        ),
        chart(
            "change_failure_rate",
            "Change failure rate",
            f"{percent(total.change_failure_rate)} "
            f"({total.failed_changes} of {total.changes} changes)",
            Series("failure rate", rates, [percent(r) for r in rates]),
        ),
        chart(
            "time_to_restore",
            "Time to restore",
            f"median {human_duration(total.time_to_restore_median)} "
            f"({total.restores} restore{'' if total.restores == 1 else 's'})",
            Series("median", [seconds(v) for v in restore], [human_duration(v) for v in restore]),
        ),
    ]
