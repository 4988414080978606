package awsadapter

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/switchyard-dr/switchyard/internal/failover"
)

// SFNAPI is the part of the Step Functions client the trigger calls.
type SFNAPI interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, optFns ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
	ListExecutions(ctx context.Context, in *sfn.ListExecutionsInput, optFns ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error)
}

var _ SFNAPI = (*sfn.Client)(nil)

// Executions starts and lists one state machine's executions.
type Executions struct {
	SFN             SFNAPI
	StateMachineARN string
}

var _ failover.Executions = (*Executions)(nil)

// Start starts an execution; ExecutionAlreadyExists becomes *failover.ExecutionExistsError.
func (e *Executions) Start(ctx context.Context, name string, input []byte) (string, error) {
	out, err := e.SFN.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(e.StateMachineARN), Name: aws.String(name), Input: aws.String(string(input)),
	})
	var exists *sfntypes.ExecutionAlreadyExists
	if errors.As(err, &exists) {
		return "", &failover.ExecutionExistsError{Name: name, Err: err}
	}
	if err != nil {
		return "", classify("sfn StartExecution "+name, err)
	}
	return aws.ToString(out.ExecutionArn), nil
}

// Running pages through ListExecutions filtered on RUNNING.
func (e *Executions) Running(ctx context.Context) ([]failover.ExecutionSummary, error) {
	var res []failover.ExecutionSummary
	in := &sfn.ListExecutionsInput{StateMachineArn: aws.String(e.StateMachineARN), StatusFilter: sfntypes.ExecutionStatusRunning, MaxResults: 100}
	for {
		out, err := e.SFN.ListExecutions(ctx, in)
		if err != nil {
			return nil, classify("sfn ListExecutions RUNNING "+e.StateMachineARN, err)
		}
		for _, x := range out.Executions {
			res = append(res, failover.ExecutionSummary{Name: aws.ToString(x.Name), ARN: aws.ToString(x.ExecutionArn), Status: string(x.Status), StartedAt: aws.ToTime(x.StartDate)})
		}
		if out.NextToken == nil {
			return res, nil
		}
		in.NextToken = out.NextToken
	}
}

// StartedSince pages through ListExecutions (newest first) until an execution started before since.
func (e *Executions) StartedSince(ctx context.Context, since time.Time) ([]failover.ExecutionSummary, error) {
	var res []failover.ExecutionSummary
	in := &sfn.ListExecutionsInput{StateMachineArn: aws.String(e.StateMachineARN), MaxResults: 100}
	for {
		out, err := e.SFN.ListExecutions(ctx, in)
		if err != nil {
			return nil, classify("sfn ListExecutions "+e.StateMachineARN, err)
		}
		for _, x := range out.Executions {
			started := aws.ToTime(x.StartDate)
			if started.Before(since) {
				return res, nil
			}
			res = append(res, failover.ExecutionSummary{Name: aws.ToString(x.Name), ARN: aws.ToString(x.ExecutionArn), Status: string(x.Status), StartedAt: started})
		}
		if out.NextToken == nil {
			return res, nil
		}
		in.NextToken = out.NextToken
	}
}
