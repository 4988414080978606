package localcloud

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// secretsService emulates Secrets Manager's GetSecretValue (JSON 1.1) for secrets added by AddSecret.
type secretsService struct {
	s *Server

	mu      sync.Mutex
	secrets map[string]string // by ARN and by name
}

func newSecretsService(s *Server) *secretsService {
	return &secretsService{s: s, secrets: map[string]string{}}
}

// AddSecret stores a secret string under its ARN and its name, as GetSecretValue finds it by either;
// it returns the ARN.
func (s *Server) AddSecret(region, name, value string) string {
	arn := fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-AbCdEf", region, s.account, name)
	s.secrets.mu.Lock()
	defer s.secrets.mu.Unlock()
	s.secrets.secrets[arn], s.secrets.secrets[name] = value, value
	return arn
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
	var in struct{ SecretId string }
	if err := json.NewDecoder(req.Body).Decode(&in); err != nil || in.SecretId == "" {
		writeErr(errorf(http.StatusBadRequest, "InvalidParameterException", "SecretId is required"))
		return
	}
	f.mu.Lock()
	value, ok := f.secrets[in.SecretId]
	f.mu.Unlock()
	if !ok {
		writeErr(errorf(http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret."))
		return
	}
	body, _ := json.Marshal(map[string]any{"ARN": in.SecretId, "Name": in.SecretId, "SecretString": value,
		"VersionId": "v1", "VersionStages": []string{"AWSCURRENT"}, "CreatedDate": epochSeconds(time.Now())})
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-RequestId", requestID)
	w.Write(body)
}
