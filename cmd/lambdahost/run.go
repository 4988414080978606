package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"time"

	"github.com/switchyard-dr/switchyard/internal/local/mariadb"
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
	dsn, err := db.CreateApp(startCtx, appDatabase, appUser, randomPassword())
	if err != nil {
		return fmt.Errorf("create the app database: %w", err)
	}
	// A fresh cursor key per run: cursors need not outlive the local API.
	cfg, err := src.load(map[string]string{"DB_AUTH": "dsn", "DB_DSN": dsn, "CURSOR_KEY": randomPassword() + randomPassword()}, "todo-api", "migrate")
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
	fmt.Fprintf(stdout, "migrations   applied: %s\n", res.Payload)
	printHost(stdout, h, cfg)
	fmt.Fprintf(stdout, "Try: curl -s %s/health   Ctrl-C stops everything.\n", h.HTTPURL())
	<-ctx.Done()
	fmt.Fprintln(stdout, "stopping ...")
	return h.Close()
}

// randomPassword keeps the local app user's password out of the repository and the logs.
func randomPassword() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}
