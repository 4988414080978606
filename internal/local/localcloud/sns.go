package localcloud

import (
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"sync"
)

const snsXMLNS = "http://sns.amazonaws.com/doc/2010-03-31/"

// SNSMessage is one message published to a topic.
type SNSMessage struct {
	MessageID  string
	TopicARN   string
	Subject    string
	Message    string
	Attributes map[string]SNSAttribute
}

// SNSAttribute is a message attribute: DataType "String", "Number" or "Binary" with its value.
type SNSAttribute struct {
	DataType    string
	StringValue string
	BinaryValue []byte
}

type snsService struct {
	s *Server

	mu          sync.Mutex
	topics      map[string]bool
	messages    []SNSMessage
	subscribers []func(SNSMessage)
}

func newSNSService(s *Server) *snsService {
	return &snsService{s: s, topics: map[string]bool{}}
}

// AddTopic creates the topic with the given ARN (arn:aws:sns:<region>:<account>:<name>).
func (s *Server) AddTopic(arn string) {
	s.sns.mu.Lock()
	defer s.sns.mu.Unlock()
	s.sns.topics[arn] = true
}

// TopicARN builds a topic ARN in the emulator's account.
func (s *Server) TopicARN(region, name string) string {
	return fmt.Sprintf("arn:aws:sns:%s:%s:%s", region, s.account, name)
}

// SubscribeSNS calls f with every message published from now on, on the publishing request's
// goroutine before Publish answers; f must not block for long.
func (s *Server) SubscribeSNS(f func(SNSMessage)) {
	s.sns.mu.Lock()
	defer s.sns.mu.Unlock()
	s.sns.subscribers = append(s.sns.subscribers, f)
}

// SNSMessages returns every message published so far, oldest first.
func (s *Server) SNSMessages() []SNSMessage {
	s.sns.mu.Lock()
	defer s.sns.mu.Unlock()
	return append([]SNSMessage(nil), s.sns.messages...)
}

type publishResult struct {
	XMLName   xml.Name `xml:"PublishResult"`
	MessageID string   `xml:"MessageId"`
}

func (n *snsService) serve(w http.ResponseWriter, req *request) {
	requestID := n.s.requestID()
	if err := req.ParseForm(); err != nil {
		writeXMLError(w, snsXMLNS, requestID, errorf(http.StatusBadRequest, "MalformedQueryString", "%v", err))
		return
	}
	action := req.PostForm.Get("Action")
	if e := n.s.admit(req, "sns:"+action, xmlThrottle); e != nil {
		writeXMLError(w, snsXMLNS, requestID, e)
		return
	}
	if action != "Publish" {
		writeXMLError(w, snsXMLNS, requestID, errorf(http.StatusBadRequest, "InvalidAction", "The action %s is not valid for this web service (localcloud emulates Publish).", action))
		return
	}
	msg, err := n.publish(req)
	if err != nil {
		writeXMLError(w, snsXMLNS, requestID, asAPIError(err))
		return
	}
	writeQueryResult(w, action, snsXMLNS, requestID, publishResult{MessageID: msg.MessageID})
}

func (n *snsService) publish(req *request) (SNSMessage, error) {
	f := req.PostForm
	arn := f.Get("TopicArn")
	if target := f.Get("TargetArn"); target != "" {
		if arn != "" {
			return SNSMessage{}, errorf(http.StatusBadRequest, "InvalidParameter", "Invalid parameter: TopicArn or TargetArn Reason: Only one of TopicArn and TargetArn may be specified")
		}
		if strings.Contains(target, ":endpoint/") {
			return SNSMessage{}, errorf(http.StatusBadRequest, "InvalidParameter", "Invalid parameter: TargetArn Reason: localcloud emulates topics only, not platform application endpoints")
		}
		arn = target
	}
	if arn == "" {
		return SNSMessage{}, errorf(http.StatusBadRequest, "InvalidParameter", "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter")
	}
	if f.Get("Message") == "" {
		return SNSMessage{}, errorf(http.StatusBadRequest, "InvalidParameter", "Invalid parameter: Empty message")
	}
	if p := strings.Split(arn, ":"); len(p) != 6 || p[2] != "sns" || p[3] != req.region {
		return SNSMessage{}, errorf(http.StatusBadRequest, "InvalidParameter", "Invalid parameter: TopicArn (%s is not a topic of region %s)", arn, req.region)
	}
	msg := SNSMessage{
		MessageID:  newUUID(),
		TopicARN:   arn,
		Subject:    f.Get("Subject"),
		Message:    f.Get("Message"),
		Attributes: map[string]SNSAttribute{},
	}
	for i := 1; ; i++ {
		prefix := fmt.Sprintf("MessageAttributes.entry.%d.", i)
		name := f.Get(prefix + "Name")
		if name == "" {
			break
		}
		bin, err := base64.StdEncoding.DecodeString(f.Get(prefix + "Value.BinaryValue"))
		if err != nil {
			return SNSMessage{}, errorf(http.StatusBadRequest, "InvalidParameterValue", "The message attribute '%s' has an invalid binary value: %v", name, err)
		}
		msg.Attributes[name] = SNSAttribute{
			DataType:    f.Get(prefix + "Value.DataType"),
			StringValue: f.Get(prefix + "Value.StringValue"),
			BinaryValue: bin,
		}
	}
	if err := n.deliver(msg); err != nil {
		return SNSMessage{}, err
	}
	return msg, nil
}

// deliver stores a message on its topic and hands it to the subscribers: Publish and CloudWatch
// alarm actions both go through it.
func (n *snsService) deliver(msg SNSMessage) error {
	n.mu.Lock()
	if !n.topics[msg.TopicARN] {
		n.mu.Unlock()
		return errorf(http.StatusNotFound, "NotFound", "Topic does not exist")
	}
	n.messages = append(n.messages, msg)
	subs := append([]func(SNSMessage){}, n.subscribers...)
	n.mu.Unlock()
	for _, sub := range subs {
		sub(msg)
	}
	return nil
}
