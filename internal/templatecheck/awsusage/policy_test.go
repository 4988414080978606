package awsusage_test

import (
	"slices"
	"testing"

	"github.com/switchyard-dr/switchyard/internal/templatecheck/awsusage"
)

// The comparison itself, on broken policies: each case names a gap in one direction or both, and a
// comparison that ignores a direction, or counts a service as allowed because one of its actions is,
// reports the wrong gaps.
func TestComparePolicyFindsGapsInBothDirections(t *testing.T) {
	tests := []struct {
		name            string
		must, may       []string
		allowed         []string
		missing, excess []string
	}{
		{
			name:    "exactly what the code calls",
			must:    []string{"dynamodb:GetItem", "rds:DescribeGlobalClusters"},
			allowed: []string{"rds:DescribeGlobalClusters", "dynamodb:GetItem"},
		},
		{
			name:    "a called action missing while another action of its service is allowed",
			must:    []string{"dynamodb:GetItem", "dynamodb:PutItem"},
			allowed: []string{"dynamodb:GetItem"},
			missing: []string{"dynamodb:PutItem"},
		},
		{
			name:    "the only action of a service missing",
			must:    []string{"sns:Publish", "states:StartExecution"},
			allowed: []string{"states:StartExecution"},
			missing: []string{"sns:Publish"},
		},
		{
			name:    "an action allowed that no code calls",
			must:    []string{"rds:DescribeGlobalClusters"},
			allowed: []string{"rds:DescribeGlobalClusters", "rds:FailoverGlobalCluster"},
			excess:  []string{"rds:FailoverGlobalCluster"},
		},
		{
			name:    "missing and excess at once",
			must:    []string{"route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets"},
			allowed: []string{"route53:ListResourceRecordSets", "cloudfront:UpdateDistribution"},
			missing: []string{"route53:ChangeResourceRecordSets"},
			excess:  []string{"cloudfront:UpdateDistribution"},
		},
		{
			name:    "an action of the same name in another service does not cover the call",
			must:    []string{"sns:Publish"},
			allowed: []string{"iot:Publish"},
			missing: []string{"sns:Publish"},
			excess:  []string{"iot:Publish"},
		},
		{
			name:    "a role that allows nothing",
			must:    []string{"cloudwatch:PutMetricData"},
			missing: []string{"cloudwatch:PutMetricData"},
		},
		{
			name:    "code that calls nothing",
			allowed: []string{"secretsmanager:GetSecretValue"},
			excess:  []string{"secretsmanager:GetSecretValue"},
		},
		{
			name:    "IAM compares actions case-insensitively",
			must:    []string{"sns:Publish"},
			allowed: []string{"SNS:publish"},
		},
		{
			name:    "a service wildcard covers the calls but is excess",
			must:    []string{"dynamodb:GetItem", "dynamodb:PutItem"},
			allowed: []string{"dynamodb:*"},
			excess:  []string{"dynamodb:*"},
		},
		{
			name:    "a prefix wildcard covers only what it matches",
			must:    []string{"rds:DescribeDBClusters", "rds:DescribeGlobalClusters", "rds:SwitchoverGlobalCluster"},
			allowed: []string{"rds:Describe*"},
			missing: []string{"rds:SwitchoverGlobalCluster"},
			excess:  []string{"rds:Describe*"},
		},
		{
			name:    "a wildcard of another service covers nothing",
			must:    []string{"rds:DescribeGlobalClusters"},
			allowed: []string{"rds-db:*", "ec2:Describe*"},
			missing: []string{"rds:DescribeGlobalClusters"},
			excess:  []string{"ec2:Describe*", "rds-db:*"},
		},
		{
			name:    "a single-character wildcard is still a wildcard",
			must:    []string{"kms:Decrypt"},
			allowed: []string{"kms:Decryp?"},
			excess:  []string{"kms:Decryp?"},
		},
		{
			name:    "the everything wildcard",
			must:    []string{"sns:Publish"},
			allowed: []string{"*"},
			excess:  []string{"*"},
		},
		{
			name:    "an action the code may need is allowed but not required",
			must:    []string{"sns:Publish"},
			may:     []string{"kms:GenerateDataKey", "kms:Decrypt"},
			allowed: []string{"sns:Publish", "kms:GenerateDataKey"},
		},
		{
			name:    "a may action does not excuse a missing must action",
			must:    []string{"sns:Publish", "kms:Decrypt"},
			may:     []string{"kms:GenerateDataKey"},
			allowed: []string{"sns:Publish", "kms:GenerateDataKey"},
			missing: []string{"kms:Decrypt"},
		},
		{
			name:    "an action allowed twice is reported once",
			must:    []string{"sns:Publish"},
			allowed: []string{"sns:Publish", "states:StartExecution", "states:StartExecution"},
			excess:  []string{"states:StartExecution"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := awsusage.ComparePolicy(tt.must, tt.may, tt.allowed)
			if !slices.Equal(got.Missing, tt.missing) {
				t.Errorf("Missing = %q, want %q", got.Missing, tt.missing)
			}
			if !slices.Equal(got.Excess, tt.excess) {
				t.Errorf("Excess = %q, want %q", got.Excess, tt.excess)
			}
		})
	}
}
