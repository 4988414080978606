package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/switchyard-dr/switchyard/internal/local/lambdahost"
)

const usage = `usage:
  lambdahost run    [-addr 127.0.0.1:3000] [flags]   private MariaDB, migrations, the ToDo API
  lambdahost invoke -function FN -event FILE [flags]  one invocation of a function's real binary
  lambdahost serve  [-addr 127.0.0.1:3000] [flags]   every template function behind the HTTP and Invoke APIs
run 'lambdahost <command> -h' for the flags; 'go doc ./cmd/lambdahost' for the overrides file`

// Exit statuses: a function error is 1, so scripts can tell it from a usage mistake (2).
const (
	exitFailure = 1
	exitUsage   = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return exitUsage
	}
	// The host's log and the functions' output share stderr from several goroutines.
	stderr = &lockedWriter{w: stderr}
	var err error
	switch args[0] {
	case "run":
		err = runToDo(ctx, args[1:], stdout, stderr)
	case "invoke":
		err = invoke(ctx, args[1:], stdout, stderr)
	case "serve":
		err = serve(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "lambdahost: unknown command %q\n%s\n", args[0], usage)
		return exitUsage
	}
	var ue usageError
	var fe *lambdahost.FunctionError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		if !ue.reported {
			fmt.Fprintf(stderr, "lambdahost %s: %v\n", args[0], err)
		}
		return exitUsage
	case errors.As(err, &fe):
		return exitFailure // already reported with the error document
	default:
		fmt.Fprintf(stderr, "lambdahost %s: %v\n", args[0], err)
		return exitFailure
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

type usageError struct {
	msg      string
	reported bool // the flag package has printed it with the flags' usage
}

func (e usageError) Error() string { return e.msg }

func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return usageError{msg: err.Error(), reported: true}
}

// commandFlags starts a subcommand's flags with the ones every subcommand shares (template,
// binaries, overrides, -env).
func commandFlags(name string, stderr io.Writer) (*flag.FlagSet, *source) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	src := &source{}
	src.register(fs)
	return fs, src
}

// listenFlags are the addresses of the commands that keep serving.
type listenFlags struct{ http, invoke *string }

func addListenFlags(fs *flag.FlagSet) listenFlags {
	return listenFlags{
		http:   fs.String("addr", "127.0.0.1:3000", "HTTP API address (loopback)"),
		invoke: fs.String("invoke-addr", "", "Invoke API address (default: a free loopback port)"),
	}
}

// start starts a host for cfg on these addresses, logging to stderr.
func (l listenFlags) start(ctx context.Context, cfg lambdahost.Config, stderr io.Writer) (*lambdahost.Host, error) {
	cfg.HTTPAddr, cfg.InvokeAddr = *l.http, *l.invoke
	cfg.Logger, cfg.FunctionOutput = newLogger(stderr), stderr
	return startHost(ctx, cfg)
}

func newLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewJSONHandler(w, nil)) }

// invoke runs one event through a function's real binary and prints its response, or its error
// document (on stderr, exit status 1).
func invoke(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, src := commandFlags("invoke", stderr)
	fn := fs.String("function", "", "function to invoke (its folder name under functions/)")
	eventFile := fs.String("event", "", "event JSON file, e.g. events/<function>/<case>.json; - reads stdin")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *fn == "" || *eventFile == "" || fs.NArg() > 0 {
		return usageError{msg: "want -function FN -event FILE (e.g. make invoke FN=todo-api EVENT=events/todo-api/list.json)"}
	}
	var event []byte
	var err error
	if *eventFile == "-" {
		event, err = io.ReadAll(os.Stdin)
	} else {
		event, err = os.ReadFile(*eventFile)
	}
	if err != nil {
		return fmt.Errorf("read the event: %w", err)
	}
	cfg, err := src.load(nil, *fn)
	if err != nil {
		return err
	}
	cfg.Logger, cfg.FunctionOutput = newLogger(stderr), stderr
	h, err := startHost(ctx, cfg)
	if err != nil {
		return err
	}
	defer h.Close()
	res, err := h.Invoke(ctx, *fn, event)
	if err != nil {
		return err
	}
	if res.FunctionError != nil {
		fmt.Fprintf(stderr, "%s failed (%s): %s\n%s\n", *fn, res.FunctionError.Type, res.FunctionError.Message, res.Payload)
		if res.ColdStart && res.InitDuration == 0 {
			fmt.Fprintf(stderr, "hint: %s did not finish its init; its own message is in the output above. Values the "+
				"template computes in AWS (DSNs, endpoints, secrets) come from -config FILE (or $%s) and -env KEY=VALUE.\n", *fn, configEnv)
		}
		return res.FunctionError
	}
	_, err = fmt.Fprintf(stdout, "%s\n", res.Payload)
	return err
}

func startHost(ctx context.Context, cfg lambdahost.Config) (*lambdahost.Host, error) {
	h, err := lambdahost.New(cfg)
	if err != nil {
		return nil, err
	}
	if err := h.Start(ctx); err != nil {
		return nil, err
	}
	return h, nil
}

// serve runs every template function (with the overrides applied) until interrupted.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, src := commandFlags("serve", stderr)
	listen := addListenFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := src.load(nil)
	if err != nil {
		return err
	}
	h, err := listen.start(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	printHost(stdout, h, cfg)
	fmt.Fprintln(stdout, "Ctrl-C stops everything.")
	<-ctx.Done()
	return h.Close()
}

// printHost says what runs where.
func printHost(w io.Writer, h *lambdahost.Host, cfg lambdahost.Config) {
	fmt.Fprintf(w, "HTTP API     %s\n", h.HTTPURL())
	for _, f := range cfg.Functions {
		for _, r := range f.Routes {
			fmt.Fprintf(w, "  %-7s %-16s -> %s\n", r.Method, r.Path, f.Name)
		}
	}
	fmt.Fprintf(w, "Invoke API   %s  (AWS_ENDPOINT_URL_LAMBDA=%s for SDK clients)\n", h.InvokeURL(), h.InvokeURL())
	for _, f := range cfg.Functions {
		fmt.Fprintf(w, "  %-12s %s  (timeout %s, %d MB, env %s)\n", f.Name, f.Binary, f.Timeout, f.MemoryMB, envNames(f.Env))
	}
}

// envNames lists variable names only: values may hold DSNs and passwords.
func envNames(env map[string]string) string {
	names := make([]string, 0, len(env))
	for k := range env {
		names = append(names, k)
	}
	if len(names) == 0 {
		return "-"
	}
	slices.Sort(names)
	return strings.Join(names, ",")
}
