package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/switchyard-dr/switchyard/internal/local/lambdahost"
	"github.com/switchyard-dr/switchyard/internal/local/mariadb"
	"github.com/switchyard-dr/switchyard/internal/local/rdsproxy"
)

// The ToDo API's local database, as the tests create it.
const (
	appDatabase = "switchyard"
	appUser     = "todo_app"
)

// runToDo is `make run`: a private MariaDB, the migrations applied through the migrate function,
// and the ToDo API served until interrupted.
func runToDo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, src := commandFlags("run", stderr)
	listen := addListenFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	startCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	fmt.Fprintln(stdout, "starting a private MariaDB ...")
	db, err := mariadb.Start(startCtx, mariadb.Options{Name: "lambdahost-run", ServerID: 1})
	if err != nil {
		return err
	}
	defer func() {
		if err := db.Close(); err != nil {
			fmt.Fprintf(stderr, "stop MariaDB: %v\n", err)
		}
	}()
	appPassword := randomPassword()
	if _, err := db.CreateApp(startCtx, appDatabase, appUser, appPassword); err != nil {
		return fmt.Errorf("create the app database: %w", err)
	}
	// The functions reach MariaDB as deployed: through the local RDS Proxy, IAM token over TLS,
	// the token signed for the host's region (which the overrides file may choose).
	cfg, err := src.load(nil, "todo-api", "migrate")
	if err != nil {
		return err
	}
	caDir, err := os.MkdirTemp("", "switchyard-rds-proxy-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(caDir)
	proxy, dbEnv, err := startProxy(db, appPassword, cmp.Or(cfg.Region, lambdahost.DefaultRegion), filepath.Join(caDir, "ca.pem"))
	if err != nil {
		return err
	}
	defer proxy.Close()
	// One region and no lease renewer: the API's writer-lease check is off here (make drill runs
	// it with the renewers and the grantors).
	dbEnv["WRITER_LEASE"] = "off"
	// A fresh cursor key per run: cursors need not outlive the local API.
	dbEnv["CURSOR_KEY"] = randomPassword() + randomPassword()
	cfg, err = src.load(dbEnv, "todo-api", "migrate")
	if err != nil {
		return err
	}
	h, err := listen.start(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer h.Close()

	res, err := h.Invoke(ctx, "migrate", []byte(`{"action":"migrate"}`))
	if err != nil {
		return fmt.Errorf("invoke migrate: %w", err)
	}
	if res.FunctionError != nil {
		fmt.Fprintf(stderr, "migrate failed (%s): %s\n", res.FunctionError.Type, res.FunctionError.Message)
		return res.FunctionError
	}
	fmt.Fprintf(stdout, "MariaDB      127.0.0.1:%d  (pid %d, database %s, user %s)\n", db.Port, db.PID(), appDatabase, appUser)
	fmt.Fprintf(stdout, "RDS Proxy    read/write %s, read-only %s  (IAM authentication, TLS)\n", proxy.ReadWriteEndpoint(), proxy.ReadOnlyEndpoint())
	fmt.Fprintf(stdout, "migrations   applied: %s\n", res.Payload)
	printHost(stdout, h, cfg)
	fmt.Fprintf(stdout, "Try: curl -s %s/health   Ctrl-C stops everything.\n", h.HTTPURL())
	<-ctx.Done()
	fmt.Fprintln(stdout, "stopping ...")
	return h.Close()
}

// Local AWS credentials: the functions sign their IAM tokens with them and the proxy checks them.
const (
	localAccessKey = "AKIALOCALSWITCHYARD"
	localSecretKey = "local-switchyard-secret"
)

// startProxy starts the local RDS Proxy in front of db and returns the functions' database
// environment: IAM authentication as the app user over TLS, with the proxy's CA as the system
// trust store.
func startProxy(db *mariadb.Server, appPassword, region, caFile string) (*rdsproxy.Proxy, map[string]string, error) {
	ca, err := rdsproxy.NewCA()
	if err != nil {
		return nil, nil, err
	}
	if err := ca.WriteFile(caFile); err != nil {
		return nil, nil, err
	}
	p, err := rdsproxy.Start(rdsproxy.Options{
		Name: "local", Region: region, Backend: fmt.Sprintf("127.0.0.1:%d", db.Port), CA: ca,
		Users:       []rdsproxy.User{{Name: appUser, Password: appPassword, IAM: true}},
		Credentials: map[string]string{localAccessKey: localSecretKey},
		// Short of the API's 3 s query deadline, so a request that waits answers 503 in time.
		BorrowTimeout: 2 * time.Second,
	})
	if err != nil {
		return nil, nil, err
	}
	env := p.FunctionEnv(appUser, appDatabase, caFile)
	env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = localAccessKey, localSecretKey
	env["AWS_EC2_METADATA_DISABLED"] = "true"
	return p, env, nil
}

// randomPassword keeps the local app user's password out of the repository and the logs.
func randomPassword() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}
