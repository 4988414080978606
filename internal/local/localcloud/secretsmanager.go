package localcloud

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/switchyard-dr/switchyard/internal/eventjson"
)

// secret is one secret with its current version (AWSCURRENT).
type secret struct {
	region, name, arn string
	value, versionID  string
	created           time.Time
}

// secretsService emulates Secrets Manager's GetSecretValue (JSON 1.1) for secrets added by AddSecret.
type secretsService struct {
	s *Server

	mu      sync.Mutex
	secrets []*secret
}

func newSecretsService(s *Server) *secretsService {
	return &secretsService{s: s}
}

// AddSecret stores a secret string in a region and returns its ARN, which ends in the six random
// characters Secrets Manager appends to the name. Adding a name that exists makes the value its
// new current version (as a rotation does) and keeps the ARN.
func (s *Server) AddSecret(region, name, value string) string {
	f := s.secrets
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, sec := range f.secrets {
		if sec.region == region && sec.name == name {
			sec.value, sec.versionID, sec.created = value, newUUID(), time.Now().UTC()
			return sec.arn
		}
	}
	sec := &secret{region: region, name: name, value: value, versionID: newUUID(), created: time.Now().UTC(),
		arn: fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-%s", region, s.account, name, secretSuffix())}
	f.secrets = append(f.secrets, sec)
	return sec.arn
}

// secretSuffix is six random letters and digits, as Secrets Manager appends to a secret's ARN.
func secretSuffix() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	var b [6]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}

// find resolves a SecretId as Secrets Manager does: the name, the full ARN, or the partial ARN
// without the random suffix, in the caller's region only.
func (f *secretsService) find(region, id string) *secret {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, sec := range f.secrets {
		if sec.region != region {
			continue
		}
		if id == sec.name || id == sec.arn || id == sec.arn[:len(sec.arn)-7] {
			return sec
		}
	}
	return nil
}

func (f *secretsService) serve(w http.ResponseWriter, req *request) {
	requestID := f.s.requestID()
	op := strings.TrimPrefix(req.Header.Get("X-Amz-Target"), "secretsmanager.")
	writeErr := func(e *APIError) { writeAWSJSONError(w, "application/x-amz-json-1.1", requestID, e) }
	if e := f.s.admit(req, "secretsmanager:"+op, func() *APIError {
		return errorf(http.StatusBadRequest, "ThrottlingException", "Rate exceeded")
	}); e != nil {
		writeErr(e)
		return
	}
	if op != "GetSecretValue" {
		writeErr(errorf(http.StatusBadRequest, "UnknownOperationException", "localcloud emulates GetSecretValue only, not %s", op))
		return
	}
	var in struct{ SecretId, VersionId, VersionStage string }
	body, err := readBody(req)
	if err == nil {
		err = eventjson.Unmarshal(body, &in)
	}
	if err != nil {
		writeErr(errorf(http.StatusBadRequest, "SerializationException", "The request body is not a JSON object: %v", err))
		return
	}
	if in.SecretId == "" {
		writeErr(errorf(http.StatusBadRequest, "ValidationException", "1 validation error detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null"))
		return
	}
	sec := f.find(req.region, in.SecretId)
	if sec == nil {
		writeErr(errorf(http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret."))
		return
	}
	f.mu.Lock()
	value, version, created := sec.value, sec.versionID, sec.created
	f.mu.Unlock()
	// Only the current version is kept: any other version or staging label is not found.
	if in.VersionStage != "" && in.VersionStage != "AWSCURRENT" {
		writeErr(errorf(http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: %s", in.VersionStage))
		return
	}
	if in.VersionId != "" && in.VersionId != version {
		writeErr(errorf(http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret value for VersionId: %s", in.VersionId))
		return
	}
	out, _ := json.Marshal(map[string]any{"ARN": sec.arn, "Name": sec.name, "SecretString": value,
		"VersionId": version, "VersionStages": []string{"AWSCURRENT"}, "CreatedDate": epochSeconds(created)})
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-RequestId", requestID)
	w.Write(out)
}
