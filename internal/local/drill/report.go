package drill

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strings"
	"time"
)

// Phase is one step of a scenario on the timeline.
type Phase struct {
	Name       string
	Start, End time.Time
}

// ScenarioReport is what one scenario measured and whether its invariants held.
type ScenarioReport struct {
	Name       string
	Start, End time.Time
	Phases     []Phase
	// Fault is when the fault was injected (or the operator's request made): outages are measured
	// from it. Detection is the time from the fault to the alarm (unplanned only).
	Fault     time.Time
	Detection time.Duration
	Outages   []Outage
	// RTO is the longest outage of writes or reads; TargetRTO is what it must not exceed.
	RTO, TargetRTO time.Duration
	Outcomes       map[string]int
	Integrity      Integrity
	// GTIDGap is the old writer's transactions the new writer never received (unplanned only);
	// Diverged are the drill's rows among them, read from the old writer when it came back.
	GTIDGap  uint64
	Diverged []Row
	Attempts []Attempt
	// How names the parts that drove the scenario, so the report says what was exercised.
	How []string
	// Failures are the invariants that did not hold; empty means the scenario passed.
	Failures []string
	// Lease is set by the writer-lease scenarios (partition, health-cut, witness-down).
	Lease *LeaseOutcome
	// RPO is set by the rpo-max scenario.
	RPO *RPOOutcome
}

// Passed reports whether every invariant held.
func (r *ScenarioReport) Passed() bool { return len(r.Failures) == 0 }

func (r *ScenarioReport) failf(format string, args ...any) {
	r.Failures = append(r.Failures, fmt.Sprintf(format, args...))
}

func ms(d time.Duration) string {
	if d >= 10*time.Second {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return fmt.Sprintf("%dms", d.Milliseconds())
}

// WriteTimeline prints a scenario's timeline and results for the terminal.
func (r *ScenarioReport) WriteTimeline(w io.Writer) {
	verdict := "PASS"
	if !r.Passed() {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "\n== %s: %s (%s)\n", r.Name, verdict, ms(r.End.Sub(r.Start)))
	for _, p := range r.Phases {
		fmt.Fprintf(w, "  +%-8s %-34s %s\n", ms(p.Start.Sub(r.Start)), p.Name, ms(p.End.Sub(p.Start)))
	}
	if r.Detection > 0 {
		fmt.Fprintf(w, "  detection        %s\n", ms(r.Detection))
	}
	for _, o := range r.Outages {
		back := "not recovered"
		if o.Recovered {
			back = "back at +" + ms(o.Back.Sub(r.Start))
		}
		fmt.Fprintf(w, "  %-5s outage     from +%s (fault at +%s, first failing request started +%s), %s: %s\n",
			o.Op, ms(o.First.Sub(r.Start)), ms(r.Fault.Sub(r.Start)), ms(o.FirstFailure.Sub(r.Start)), back, ms(o.RTO(r.End)))
	}
	fmt.Fprintf(w, "  RTO              %s (target ≤ %s)\n", ms(r.RTO), ms(r.TargetRTO))
	keys := make([]string, 0, len(r.Outcomes))
	for k := range r.Outcomes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s ×%d", k, r.Outcomes[k])
	}
	fmt.Fprintf(w, "  requests         %s\n", strings.Join(parts, ", "))
	fmt.Fprintf(w, "  writes           %d acknowledged, %d lost, %d duplicated (%d rows on the writer)\n",
		r.Integrity.Acked, len(r.Integrity.Lost), len(r.Integrity.Duplicates), r.Integrity.Rows)
	if r.Name == "unplanned" {
		fmt.Fprintf(w, "  GTID gap         %d transactions; %d of the drill's rows never reached the new writer\n", r.GTIDGap, len(r.Diverged))
	}
	for _, l := range r.Integrity.Lost {
		fmt.Fprintf(w, "    lost: id %s task %q acknowledged at +%s by %s\n", l.ID, l.Task, ms(l.Acked.Sub(r.Start)), l.Region)
	}
	for _, d := range r.Integrity.Duplicates {
		fmt.Fprintf(w, "    duplicate: %q\n", d)
	}
	for _, h := range r.How {
		fmt.Fprintf(w, "  how: %s\n", h)
	}
	for _, f := range r.Failures {
		fmt.Fprintf(w, "  INVARIANT FAILED: %s\n", f)
	}
}

// chart is the SVG geometry of one scenario: request outcomes, latency and the phases share
// one time axis, with the outages shaded across all three.
type chart struct {
	Width, Height, Left, PlotW float64
	OutTop, OutH, LatTop, LatH float64
	GanttTop, RowH, AxisY      float64
	Bars                       []bar
	Dots                       []dot
	Rows                       []ganttRow
	Outages                    []band
	XTicks                     []tick
	LatTicks                   []tick
	MaxCount                   int
}

type bar struct{ X, W, OkY, OkH, FailY, FailH float64 }
type dot struct {
	X, Y   float64
	Failed bool
	Title  string
}
type ganttRow struct {
	Y, X, W float64
	Label   string
	Title   string
}
type band struct {
	X, W  float64
	Title string
}
type tick struct {
	Pos   float64
	Label string
}

func buildChart(r *ScenarioReport) chart {
	c := chart{Width: 1100, Left: 300, PlotW: 780, OutTop: 20, OutH: 120, LatH: 150, RowH: 15}
	c.LatTop = c.OutTop + c.OutH + 30
	c.GanttTop = c.LatTop + c.LatH + 20
	c.AxisY = c.GanttTop + c.RowH*float64(len(r.Phases)) + 16
	c.Height = c.AxisY + 10
	span := r.End.Sub(r.Start)
	if span <= 0 {
		span = time.Second
	}
	x := func(t time.Time) float64 {
		return c.Left + c.PlotW*float64(t.Sub(r.Start))/float64(span)
	}
	const bucket = 100 * time.Millisecond
	n := int(span/bucket) + 1
	ok, failed := make([]int, n), make([]int, n)
	var maxLat time.Duration
	for _, a := range r.Attempts {
		i := int(a.Start.Sub(r.Start) / bucket)
		if i < 0 || i >= n {
			continue
		}
		if a.Failed() {
			failed[i]++
		} else {
			ok[i]++
		}
		maxLat = max(maxLat, a.Latency)
	}
	for i := range n {
		c.MaxCount = max(c.MaxCount, ok[i]+failed[i])
	}
	if c.MaxCount == 0 {
		c.MaxCount = 1
	}
	bw := c.PlotW * float64(bucket) / float64(span)
	base := c.OutTop + c.OutH
	for i := range n {
		okH := c.OutH * float64(ok[i]) / float64(c.MaxCount)
		failH := c.OutH * float64(failed[i]) / float64(c.MaxCount)
		bx := c.Left + float64(i)*bw
		c.Bars = append(c.Bars, bar{X: bx, W: math.Max(bw-0.5, 0.5), OkY: base - okH, OkH: okH, FailY: base - okH - failH, FailH: failH})
	}
	// Latency on a log scale: a 2 s timeout and a 3 ms read must both be readable.
	hi := math.Log10(math.Max(float64(maxLat.Milliseconds()), 10))
	y := func(d time.Duration) float64 {
		v := math.Log10(math.Max(float64(d.Microseconds())/1000, 1))
		return c.LatTop + c.LatH - c.LatH*v/hi
	}
	for _, a := range r.Attempts {
		c.Dots = append(c.Dots, dot{X: x(a.Start), Y: y(a.Latency), Failed: a.Failed(),
			Title: fmt.Sprintf("%s in %s at +%s", outcomeKey(a), ms(a.Latency), ms(a.Start.Sub(r.Start)))})
	}
	for _, v := range []int{1, 10, 100, 1000, 10000} {
		if math.Log10(float64(v)) <= hi {
			c.LatTicks = append(c.LatTicks, tick{Pos: y(time.Duration(v) * time.Millisecond), Label: fmt.Sprintf("%d ms", v)})
		}
	}
	step := 500 * time.Millisecond
	for span/step > 12 {
		step *= 2
	}
	for t := time.Duration(0); t <= span; t += step {
		c.XTicks = append(c.XTicks, tick{Pos: x(r.Start.Add(t)), Label: fmt.Sprintf("%gs", t.Seconds())})
	}
	for i, p := range r.Phases {
		c.Rows = append(c.Rows, ganttRow{Y: c.GanttTop + c.RowH*float64(i), X: x(p.Start), W: math.Max(x(p.End)-x(p.Start), 2),
			Label: p.Name, Title: fmt.Sprintf("%s: +%s for %s", p.Name, ms(p.Start.Sub(r.Start)), ms(p.End.Sub(p.Start)))})
	}
	for _, o := range r.Outages {
		end := r.End
		if o.Recovered {
			end = o.Back
		}
		c.Outages = append(c.Outages, band{X: x(o.First), W: math.Max(x(end)-x(o.First), 1),
			Title: fmt.Sprintf("%s outage: %s", o.Op, ms(o.RTO(r.End)))})
	}
	return c
}

var htmlReport = template.Must(template.New("report").Funcs(template.FuncMap{
	"ms":    ms,
	"chart": buildChart,
	"add":   func(a, b float64) float64 { return a + b },
	"sub":   func(a, b float64) float64 { return a - b },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Switchyard drill report</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:1000px}
h2{margin-top:2em} .pass{color:#11772d} .fail{color:#b00020}
table{border-collapse:collapse} td,th{padding:2px 10px;text-align:left;border-bottom:1px solid #ddd}
svg text{font:11px system-ui,sans-serif} .ok{fill:#2e9d4f} .bad{fill:#d93025}
.dotok{fill:#2e9d4f;opacity:.5} .dotbad{fill:#d93025;opacity:.8} .axis{stroke:#999} .grid{stroke:#ddd;stroke-dasharray:2,3}
.phase{fill:#1a73e8;opacity:.8} .outage{fill:#d93025;opacity:.08} svg .small{font-size:10px}
</style></head><body>
<h1>Switchyard failover drill</h1>
<p>Generated {{.Generated.Format "2006-01-02 15:04:05 MST"}}. Two regions on one machine: real MariaDB replication, the real function binaries, the edge proxy in front.</p>
<table><tr><th>scenario</th><th>result</th><th>RTO</th><th>target</th><th>detection</th><th>acked</th><th>lost</th><th>duplicates</th></tr>
{{range .Scenarios}}<tr><td><a href="#{{.Name}}">{{.Name}}</a></td><td class="{{if .Passed}}pass">PASS{{else}}fail">FAIL{{end}}</td><td>{{ms .RTO}}</td><td>≤ {{ms .TargetRTO}}</td><td>{{if .Detection}}{{ms .Detection}}{{else}}–{{end}}</td><td>{{.Integrity.Acked}}</td><td>{{len .Integrity.Lost}}</td><td>{{len .Integrity.Duplicates}}</td></tr>
{{end}}</table>
{{range .Scenarios}}{{$r := .}}
<h2 id="{{.Name}}">{{.Name}} — <span class="{{if .Passed}}pass">PASS{{else}}fail">FAIL{{end}}</span></h2>
{{range .Failures}}<p class="fail">Invariant failed: {{.}}</p>{{end}}
{{with chart .}}{{$c := .}}
<svg xmlns="http://www.w3.org/2000/svg" width="{{.Width}}" height="{{.Height}}" role="img" aria-label="requests, latency and phases over time">
{{range .Outages}}<rect class="outage" x="{{.X}}" y="{{$c.OutTop}}" width="{{.W}}" height="{{sub $c.AxisY $c.OutTop}}"><title>{{.Title}}</title></rect>{{end}}
<text x="4" y="{{add .OutTop 12}}">requests per 100 ms</text><text x="4" y="{{add .OutTop 26}}" class="small">max {{.MaxCount}}</text>
{{range .Bars}}<rect class="ok" x="{{.X}}" y="{{.OkY}}" width="{{.W}}" height="{{.OkH}}"/><rect class="bad" x="{{.X}}" y="{{.FailY}}" width="{{.W}}" height="{{.FailH}}"/>{{end}}
<line class="axis" x1="{{.Left}}" x2="{{add .Left .PlotW}}" y1="{{add .OutTop .OutH}}" y2="{{add .OutTop .OutH}}"/>
<text x="4" y="{{add .LatTop 12}}">latency (log scale)</text>
{{range .LatTicks}}<line class="grid" x1="{{$c.Left}}" x2="{{add $c.Left $c.PlotW}}" y1="{{.Pos}}" y2="{{.Pos}}"/><text x="{{add $c.Left -6}}" y="{{add .Pos 4}}" text-anchor="end" class="small">{{.Label}}</text>{{end}}
{{range .Dots}}<circle class="{{if .Failed}}dotbad{{else}}dotok{{end}}" cx="{{.X}}" cy="{{.Y}}" r="2"><title>{{.Title}}</title></circle>{{end}}
{{range .Rows}}<text x="4" y="{{add .Y 11}}" class="small">{{.Label}}</text><rect class="phase" x="{{.X}}" y="{{add .Y 2}}" width="{{.W}}" height="{{add $c.RowH -4}}"><title>{{.Title}}</title></rect>{{end}}
{{range .XTicks}}<line class="grid" x1="{{.Pos}}" x2="{{.Pos}}" y1="{{$c.OutTop}}" y2="{{add $c.AxisY -12}}"/><text x="{{.Pos}}" y="{{$c.AxisY}}" text-anchor="middle" class="small">{{.Label}}</text>{{end}}
</svg>{{end}}

<p><span style="color:#2e9d4f">■</span> succeeded <span style="color:#d93025">■</span> failed (no answer or 5xx); the pale red band is the outage (first failure to first success), the bars below are the phases.</p>
<table>{{range .Phases}}<tr><td>+{{ms (.Start.Sub $r.Start)}}</td><td>{{.Name}}</td><td>{{ms (.End.Sub .Start)}}</td></tr>{{end}}</table>
<p>Outcomes: {{range $k, $v := .Outcomes}}{{$k}} ×{{$v}}; {{end}}</p>
{{if .Integrity.Lost}}<p>Lost writes:</p><ul>{{range .Integrity.Lost}}<li>{{.ID}} “{{.Task}}” acknowledged by {{.Region}}</li>{{end}}</ul>{{end}}
{{if eq .Name "unplanned"}}<p>GTID gap: {{.GTIDGap}} transactions; drill rows that never reached the new writer: {{len .Diverged}}.</p>{{end}}
{{if .How}}<ul>{{range .How}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{end}}
</body></html>
`))

// WriteHTML writes the self-contained report: inline SVG, no scripts, nothing fetched.
func WriteHTML(w io.Writer, scenarios []*ScenarioReport, generated time.Time) error {
	return htmlReport.Execute(w, struct {
		Generated time.Time
		Scenarios []*ScenarioReport
	}{generated, scenarios})
}
