package rdsproxy

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// tokenLifetime is how long an IAM authentication token is valid: RDS accepts it for 15 minutes.
const tokenLifetime = 15 * time.Minute

const (
	signingService   = "rds-db"
	emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	amzDateFormat    = "20060102T150405Z"
)

// checkToken verifies an RDS IAM authentication token as RDS does: a SigV4 presigned
// "connect" request for endpoint (host:port) and user in region, signed with one of creds
// (access key ID → secret key) no more than 15 minutes ago. The error says why, for the proxy's
// log only: the client gets RDS's plain "Access denied".
func checkToken(token, endpoint, user, region string, creds map[string]string, now time.Time) error {
	host, rawQuery, ok := strings.Cut(token, "?")
	if !ok {
		return errors.New("not an IAM authentication token (no ? after host:port)")
	}
	host = strings.TrimSuffix(host, "/")
	if host != endpoint {
		return fmt.Errorf("token is for %s, not this endpoint %s", host, endpoint)
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return fmt.Errorf("token query: %v", err)
	}
	if q.Get("Action") != "connect" || q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" || q.Get("X-Amz-SignedHeaders") != "host" {
		return errors.New("token is not a SigV4 presigned connect request")
	}
	if q.Get("DBUser") != user {
		return fmt.Errorf("token is for user %q, not %q", q.Get("DBUser"), user)
	}
	scope := strings.Split(q.Get("X-Amz-Credential"), "/")
	if len(scope) != 5 || scope[3] != signingService || scope[4] != "aws4_request" {
		return errors.New("token credential scope is not <key>/<date>/<region>/rds-db/aws4_request")
	}
	if scope[2] != region {
		return fmt.Errorf("token is signed for region %s, not %s", scope[2], region)
	}
	secret, known := creds[scope[0]]
	if !known {
		return fmt.Errorf("token is signed with an unknown access key %s", scope[0])
	}
	signedAt, err := time.Parse(amzDateFormat, q.Get("X-Amz-Date"))
	if err != nil || scope[1] != signedAt.Format("20060102") {
		return errors.New("token X-Amz-Date is missing, malformed or disagrees with its scope")
	}
	expires, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil || expires <= 0 || time.Duration(expires)*time.Second > tokenLifetime {
		return errors.New("token X-Amz-Expires is not between 1 and 900 seconds")
	}
	if now.After(signedAt.Add(time.Duration(expires) * time.Second)) {
		return fmt.Errorf("token expired at %s", signedAt.Add(time.Duration(expires)*time.Second).Format(time.RFC3339))
	}
	if signedAt.After(now.Add(5 * time.Minute)) {
		return errors.New("token is signed in the future")
	}
	// Sign the same request again with the local secret; only the signature may differ.
	unsigned := url.Values{}
	for k, v := range q {
		if !strings.HasPrefix(k, "X-Amz-") || k == "X-Amz-Expires" {
			unsigned[k] = v
		}
	}
	req, err := http.NewRequest(http.MethodGet, "https://"+host+"/?"+unsigned.Encode(), nil)
	if err != nil {
		return err
	}
	cred := aws.Credentials{AccessKeyID: scope[0], SecretAccessKey: secret, SessionToken: q.Get("X-Amz-Security-Token")}
	signed, _, err := v4.NewSigner().PresignHTTP(context.Background(), cred, req, emptyPayloadHash, signingService, region, signedAt)
	if err != nil {
		return err
	}
	u, err := url.Parse(signed)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(u.Query().Get("X-Amz-Signature")), []byte(q.Get("X-Amz-Signature"))) != 1 {
		return errors.New("token signature does not match the local credentials")
	}
	return nil
}
