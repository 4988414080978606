// Command drill runs the local two-region failover drill (`make drill`): region A and region B
// on real MariaDB replication, the real function binaries, localcloud and the edge proxy, under
// load, through a planned switchover, an unplanned failover and a failback. It prints a timeline,
// writes a self-contained HTML report and exits non-zero when an invariant fails.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/switchyard-dr/switchyard/internal/local/devtools"
	"github.com/switchyard-dr/switchyard/internal/local/drill"
	"github.com/switchyard-dr/switchyard/internal/local/mariadb"
)

func main() {
	os.Exit(run())
}

func run() int {
	every := append(slices.Clone(drill.Scenarios), drill.FaultScenarios...)
	scenario := flag.String("scenario", "", "the scenarios to run, comma-separated: "+strings.Join(every, ", ")+
		"; faults for every fault scenario, all for every scenario (default: "+strings.Join(drill.CoreScenarios, ", ")+", in that order)")
	report := flag.String("report", "", "HTML report path (default <repo>/.build/drill-report.html)")
	verbose := flag.Bool("v", false, "show the functions' own logs")
	clients := flag.Int("clients", 4, "concurrent clients writing and reading through the edge")
	linkCut := flag.Duration("link-cut", 400*time.Millisecond, "unplanned: cut replication this long before killing region A's database (0: kill only)")
	flag.Parse()

	names := drill.CoreScenarios
	if *scenario != "" {
		names = nil
	}
	for _, name := range strings.Split(*scenario, ",") {
		switch name = strings.TrimSpace(name); {
		case name == "" && *scenario == "":
		case name == "faults":
			names = append(names, drill.FaultScenarios...)
		case name == "all":
			names = append(names, every...)
		case slices.Contains(every, name):
			names = append(names, name)
		default:
			fmt.Fprintf(os.Stderr, "drill: unknown scenario %q: want one or more of %s, faults or all, comma-separated\n", name, strings.Join(every, ", "))
			return 2
		}
	}
	if err := ensureMariaDB(); err != nil {
		fmt.Fprintln(os.Stderr, "drill:", err)
		return 1
	}
	if err := drill.Preflight(); err != nil {
		fmt.Fprintln(os.Stderr, "drill: missing prerequisites:\n ", strings.ReplaceAll(err.Error(), "\n", "\n  "))
		return 1
	}
	root, err := devtools.Root()
	if err != nil {
		fmt.Fprintln(os.Stderr, "drill:", err)
		return 1
	}
	if *report == "" {
		*report = filepath.Join(root, ".build", "drill-report.html")
	}

	// The terminal shows the drill's own progress; the emulator's and the SQL driver's log lines
	// (a killed server's broken connections) would bury it.
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	mysql.SetLogger(log.New(io.Discard, "", 0)) //nolint:errcheck // only fails for a nil logger
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	opts := drill.Options{Progress: os.Stdout, Load: drill.LoadOptions{Clients: *clients}, LinkCutLead: *linkCut}
	if *verbose {
		opts.FunctionOutput = os.Stderr
	}
	fmt.Printf("Switchyard drill: %s\n", strings.Join(names, ", "))
	// RPO_MAX is a deployment's setting: rpo-max gets an environment of its own that has it.
	var reports []*drill.ScenarioReport
	var runErr, closeErr error
	for _, g := range drill.Groups(names) {
		o := opts
		o.RPOMax = g.RPOMax
		if g.RPOMax > 0 {
			fmt.Printf("\nan environment with RPO_MAX=%s for %s\n", g.RPOMax, strings.Join(g.Names, ", "))
		}
		env, err := drill.Start(ctx, o)
		if err != nil {
			runErr = fmt.Errorf("could not start the environment: %w", err)
			break
		}
		got, err := env.Run(ctx, g.Names)
		reports = append(reports, got...)
		runErr, closeErr = err, errors.Join(closeErr, env.Close())
		if runErr != nil {
			break
		}
	}

	code := 0
	if len(reports) > 0 {
		if err := writeReport(*report, reports); err != nil {
			fmt.Fprintln(os.Stderr, "drill:", err)
			code = 1
		}
	}
	fmt.Printf("\n%-11s %-6s %-9s %-9s %-10s %-6s %-5s %s\n", "scenario", "result", "RTO", "target", "detection", "acked", "lost", "duplicates")
	for _, r := range reports {
		verdict, det := "PASS", "-"
		if !r.Passed() {
			verdict, code = "FAIL", 1
		}
		if r.Detection > 0 {
			det = r.Detection.Round(time.Millisecond).String()
		}
		fmt.Printf("%-11s %-6s %-9s %-9s %-10s %-6d %-5d %d\n", r.Name, verdict, r.RTO.Round(time.Millisecond), "≤ "+r.TargetRTO.String(), det,
			r.Integrity.Acked, len(r.Integrity.Lost), len(r.Integrity.Duplicates))
	}
	switch {
	case errors.Is(runErr, context.Canceled):
		fmt.Fprintln(os.Stderr, "drill: interrupted; the scenario in progress is reported as failed, its checks did not run")
		code = 1
	case runErr != nil:
		fmt.Fprintln(os.Stderr, "drill: the drill could not finish:", runErr)
		code = 1
	}
	if closeErr != nil {
		fmt.Fprintln(os.Stderr, "drill: cleanup:", closeErr)
		code = 1
	} else {
		fmt.Println("everything the drill started has stopped")
	}
	if len(reports) > 0 {
		fmt.Printf("report: %s\n", *report)
	}
	fmt.Printf("total %s\n", time.Since(start).Round(100*time.Millisecond))
	return code
}

func writeReport(path string, reports []*drill.ScenarioReport) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := drill.WriteHTML(f, reports, time.Now()); err != nil {
		f.Close()
		return fmt.Errorf("report %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("report %s: %w", path, err)
	}
	// The figures for tools, beside the HTML: .build/drill-report.json.
	jsonPath := strings.TrimSuffix(path, filepath.Ext(path)) + ".json"
	j, err := os.Create(jsonPath)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := drill.WriteJSON(j, reports); err != nil {
		j.Close()
		return fmt.Errorf("report %s: %w", jsonPath, err)
	}
	return j.Close()
}

// ensureMariaDB installs MariaDB when it is missing and the drill runs as root on Debian, where
// that is one apt-get away; anywhere else it says what to install.
func ensureMariaDB() error {
	if mariadb.Installed() == nil {
		return nil
	}
	if _, err := os.Stat("/etc/debian_version"); err != nil || os.Geteuid() != 0 {
		return mariadb.ErrNotInstalled
	}
	fmt.Println("MariaDB is not installed: installing it with apt-get (Debian, running as root)")
	for _, args := range [][]string{{"update"}, {"install", "-y", "--no-install-recommends", "mariadb-server"}} {
		cmd := exec.Command("apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("apt-get %s: %w; install MariaDB yourself: apt-get install -y mariadb-server", args[0], err)
		}
	}
	if err := mariadb.Installed(); err != nil {
		return errors.New("apt-get installed mariadb-server but mariadbd is still not on PATH: check PATH includes /usr/sbin")
	}
	return nil
}
