package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/switchyard-dr/switchyard/internal/failover"
	"github.com/switchyard-dr/switchyard/internal/failover/awsadapter"
)

func (c *clients) status(ctx context.Context, out io.Writer) error {
	topo, err := c.db.Describe(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "global cluster  %s\n", topo.GlobalClusterID)
	fmt.Fprintf(out, "writer          %s\n", or(topo.Writer(), "none"))
	if f := topo.Failover; f != nil {
		fmt.Fprintf(out, "in progress     %s from %s to %s (data loss allowed: %t)\n", f.Status, f.From, f.To, f.DataLossAllowed)
	}
	for _, m := range topo.Members {
		role := "reader"
		if m.IsWriter {
			role = "writer"
		}
		line := fmt.Sprintf("member          %s  %s", m.ClusterARN, role)
		if m.Synchronization != "" {
			line += "  " + m.Synchronization
		}
		if m.ClusterARN == c.d.LocalClusterARN {
			line += "  (this region)"
		}
		fmt.Fprintln(out, line)
	}
	if local, ok := topo.Member(c.d.LocalClusterARN); ok && !local.IsWriter {
		lag, known, err := c.db.ReplicationLag(ctx, c.d.LocalClusterARN)
		switch {
		case err != nil:
			fmt.Fprintf(out, "replication lag unavailable: %v\n", err)
		case !known:
			fmt.Fprintln(out, "replication lag no datapoint in the last 5 minutes")
		default:
			fmt.Fprintf(out, "replication lag %s (this region)\n", lag)
		}
	}
	local, _ := topo.Member(c.d.LocalClusterARN)
	view := failover.PairView{LocalWrites: local.IsWriter, PeerWrites: topo.Writer() != "" && topo.Writer() != c.d.LocalClusterARN}
	if c.traffic != nil {
		st, err := c.traffic.Current(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "traffic         %s (%s, lease epoch %d)\n", or(st.Target, "none"), c.d.TrafficMode, st.Epoch)
		if c.d.LocalTarget() != "" {
			view.TrafficKnown, view.TrafficOnLocal = true, st.Target == c.d.LocalTarget()
		}
	}
	// The global cluster reports one writer; the regions' own /health says whether each accepts
	// writes, which is what two writers would show.
	if c.prober != nil && c.d.LocalAPIURL != "" && c.d.PeerAPIURL != "" {
		l, lerr := c.prober.Health(ctx, c.d.LocalAPIURL)
		p, perr := c.prober.Health(ctx, c.d.PeerAPIURL)
		if lerr == nil && perr == nil && l.Role == "writer" && p.Role == "writer" {
			view.LocalWrites, view.PeerWrites = true, true
		}
	}
	if topo.Failover == nil {
		problems := view.Inconsistencies()
		if len(problems) == 0 && view.TrafficKnown {
			fmt.Fprintln(out, "consistent      one writer, traffic on it")
		}
		for _, p := range problems {
			fmt.Fprintf(out, "INCONSISTENT    %s\n", p)
		}
	}
	list, err := c.sfn.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(c.d.StateMachineARN), MaxResults: 1})
	if err != nil {
		return fmt.Errorf("sfn ListExecutions: %w", err)
	}
	if len(list.Executions) == 0 {
		fmt.Fprintln(out, "last execution  none")
		return nil
	}
	return c.describe(ctx, out, aws.ToString(list.Executions[0].ExecutionArn))
}

// describe prints an execution's status and, once it has ended, its phases.
func (c *clients) describe(ctx context.Context, out io.Writer, arn string) error {
	e, err := c.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		return fmt.Errorf("sfn DescribeExecution: %w", err)
	}
	fmt.Fprintf(out, "last execution  %s  %s  started %s\n", aws.ToString(e.Name), e.Status, aws.ToTime(e.StartDate).UTC().Format(time.RFC3339))
	var run struct {
		failover.Run
		Report *failover.Report `json:"report"`
	}
	doc := aws.ToString(e.Output)
	if doc == "" {
		doc = aws.ToString(e.Input)
	}
	if json.Unmarshal([]byte(doc), &run) == nil {
		printRun(out, run.Run, run.Report)
	}
	if e.Status == sfntypes.ExecutionStatusFailed {
		fmt.Fprintf(out, "error           %s: %s\n", aws.ToString(e.Error), aws.ToString(e.Cause))
	}
	return nil
}

func printRun(out io.Writer, run failover.Run, rep *failover.Report) {
	if run.Decision != nil {
		fmt.Fprintf(out, "decision        %s: %s (estimated data loss %s)\n", run.Decision.Action, run.Decision.Reason, loss(run.Decision.EstimatedDataLossMs))
	}
	phases := run.Phases
	if rep != nil {
		phases = rep.Phases
	}
	for _, p := range phases {
		fmt.Fprintf(out, "  %-10s %8d ms  from %s\n", p.Name, p.DurationMs, p.StartedAt.Format("15:04:05.000"))
	}
	if rep != nil {
		fmt.Fprintf(out, "outcome         %s in %d ms\n", rep.Outcome, rep.TotalMs)
	}
}

func loss(ms int64) string {
	if ms < 0 {
		return "unknown"
	}
	return fmt.Sprintf("%d ms", ms)
}

func or(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// activate runs the trigger's checks and starts the execution, then streams it until it ends.
func (c *clients) activate(ctx context.Context, out io.Writer, mode failover.Mode, reason string, acknowledgeDataLoss bool, poll time.Duration) error {
	t := &failover.Trigger{Executions: &awsadapter.Executions{SFN: c.sfn, StateMachineARN: c.d.StateMachineARN},
		Region: c.d.Region, AccountID: failover.ARNAccount(c.d.StateMachineARN), Cooldown: c.d.Cooldown}
	req, _ := json.Marshal(failover.ManualRequest{Action: mode, Reason: reason, AcknowledgeDataLoss: acknowledgeDataLoss})
	res, err := t.Handle(ctx, req)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, res.Reason)
	if !res.Started {
		return nil
	}
	fmt.Fprintf(out, "execution       %s\n", res.ExecutionARN)
	return c.stream(ctx, out, res.ExecutionARN, poll)
}

// stream prints the execution's state transitions as they happen (GetExecutionHistory) and its
// phases when it ends. Where the history is not available it reports the status only.
func (c *clients) stream(ctx context.Context, out io.Writer, arn string, poll time.Duration) error {
	history := &historyFollower{sfn: c.sfn, arn: arn}
	var start time.Time
	follow := func() error {
		if history == nil {
			return nil
		}
		events, err := history.next(ctx)
		var api smithy.APIError
		switch {
		case errors.As(err, &api) && (api.ErrorCode() == "UnknownOperationException" || api.ErrorCode() == "AccessDeniedException"):
			history = nil
		case err != nil:
			return fmt.Errorf("sfn GetExecutionHistory: %w", err)
		}
		for _, ev := range events {
			at := aws.ToTime(ev.Timestamp)
			if start.IsZero() {
				start = at
			}
			if line := transition(ev); line != "" {
				fmt.Fprintf(out, "  +%7.1fs  %s\n", at.Sub(start).Seconds(), line)
			}
		}
		return nil
	}
	for {
		if err := follow(); err != nil {
			return err
		}
		e, err := c.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			return fmt.Errorf("sfn DescribeExecution: %w", err)
		}
		if e.Status != sfntypes.ExecutionStatusRunning {
			// The events between the last read and the end (the execution's own end among them).
			if err := follow(); err != nil {
				return err
			}
			if err := c.describe(ctx, out, arn); err != nil {
				return err
			}
			if e.Status != sfntypes.ExecutionStatusSucceeded {
				return fmt.Errorf("execution %s", strings.ToLower(string(e.Status)))
			}
			return nil
		}
		if history == nil {
			fmt.Fprintf(out, "  running...\n")
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stopped watching (the execution goes on): %w", ctx.Err())
		case <-time.After(poll):
		}
	}
}

// historyAPI is the part of the Step Functions client the follower uses.
type historyAPI interface {
	GetExecutionHistory(ctx context.Context, in *sfn.GetExecutionHistoryInput, opts ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error)
}

// historyFollower reads an execution's history across polls, each event once. The last page of a
// running execution carries no NextToken, and reading it again returns the events already seen
// with the new ones after them: the follower re-reads from the token of the last page it read and
// keeps only the events newer than the last one it returned.
type historyFollower struct {
	sfn    historyAPI
	arn    string
	page   *string // the token that fetched the last page; nil for the first
	lastID int64
}

// next returns the events added since the previous call, oldest first.
func (f *historyFollower) next(ctx context.Context) ([]sfntypes.HistoryEvent, error) {
	var out []sfntypes.HistoryEvent
	restarted := false
	for {
		h, err := f.sfn.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(f.arn), NextToken: f.page, MaxResults: 100})
		var api smithy.APIError
		if errors.As(err, &api) && api.ErrorCode() == "InvalidToken" && f.page != nil && !restarted {
			// Tokens expire after 24 hours: start again from the first page, once; the ids keep
			// it exact.
			f.page, restarted = nil, true
			continue
		}
		if err != nil {
			return out, err
		}
		for _, ev := range h.Events {
			if ev.Id > f.lastID {
				out = append(out, ev)
				f.lastID = ev.Id
			}
		}
		if h.NextToken == nil {
			return out, nil
		}
		f.page = h.NextToken
	}
}

func transition(ev sfntypes.HistoryEvent) string {
	switch {
	case ev.StateEnteredEventDetails != nil && ev.Type != sfntypes.HistoryEventTypeChoiceStateEntered:
		return "enter " + aws.ToString(ev.StateEnteredEventDetails.Name)
	case ev.TaskFailedEventDetails != nil:
		return "task failed: " + aws.ToString(ev.TaskFailedEventDetails.Error)
	case ev.LambdaFunctionFailedEventDetails != nil:
		return "function failed: " + aws.ToString(ev.LambdaFunctionFailedEventDetails.Error)
	case ev.ExecutionFailedEventDetails != nil:
		return "execution failed: " + aws.ToString(ev.ExecutionFailedEventDetails.Error)
	case ev.Type == sfntypes.HistoryEventTypeExecutionSucceeded:
		return "execution succeeded"
	}
	return ""
}
