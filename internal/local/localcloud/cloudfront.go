package localcloud

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

const cloudfrontXMLNS = "http://cloudfront.amazonaws.com/doc/2020-05-31/"

// TrafficChange says where a distribution or a DNS record sends traffic once a change has
// propagated.
type TrafficChange struct {
	// Service is "cloudfront" or "route53".
	Service string
	// Resource is the distribution ID or the hosted zone ID.
	Resource string
	// Name is the origin ID the default cache behaviour targets, or the record name.
	Name string
	// Target is the origin's domain name, or the record's first value (alias DNS name for aliases).
	Target string
	// Headers are the origin's custom headers (CloudFront only).
	Headers map[string]string
}

// TrafficHook hears traffic changes; the drill re-points its edge proxy from it.
type TrafficHook func(TrafficChange)

type distribution struct {
	id         string
	domain     string
	config     []byte // exactly as last sent: CloudFront keeps what it does not interpret
	etag       string
	status     string
	modified   time.Time
	generation int
	callerRef  string
}

type cloudfrontService struct {
	s *Server

	mu            sync.Mutex
	distributions map[string]*distribution
}

func newCloudFrontService(s *Server) *cloudfrontService {
	return &cloudfrontService{s: s, distributions: map[string]*distribution{}}
}

// distributionView is the part of a DistributionConfig the emulator interprets.
type distributionView struct {
	CallerReference string `xml:"CallerReference"`
	Origins         []struct {
		ID            string `xml:"Id"`
		DomainName    string `xml:"DomainName"`
		CustomHeaders []struct {
			Name  string `xml:"HeaderName"`
			Value string `xml:"HeaderValue"`
		} `xml:"CustomHeaders>Items>OriginCustomHeader"`
	} `xml:"Origins>Items>Origin"`
	OriginGroups []struct {
		ID      string   `xml:"Id"`
		Members []string `xml:"Members>Items>OriginGroupMember>OriginId"`
	} `xml:"OriginGroups>Items>OriginGroup"`
	TargetOriginID string `xml:"DefaultCacheBehavior>TargetOriginId"`
}

func parseDistributionConfig(raw []byte) (distributionView, error) {
	var v distributionView
	dec := xml.NewDecoder(bytes.NewReader(raw))
	start, err := rootElement(dec)
	if err != nil {
		return v, err
	}
	if start.Name.Local != "DistributionConfig" {
		return v, fmt.Errorf("root element is <%s>, want <DistributionConfig>", start.Name.Local)
	}
	if err := dec.DecodeElement(&v, &start); err != nil {
		return v, err
	}
	return v, nil
}

func rootElement(dec *xml.Decoder) (xml.StartElement, error) {
	for {
		tok, err := dec.Token()
		if err != nil {
			return xml.StartElement{}, err
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se, nil
		}
	}
}

// target resolves the default cache behaviour's origin: an origin group sends traffic to its
// first (primary) member.
func (v distributionView) target() (TrafficChange, error) {
	id := v.TargetOriginID
	for _, g := range v.OriginGroups {
		if g.ID == id && len(g.Members) > 0 {
			id = g.Members[0]
		}
	}
	for _, o := range v.Origins {
		if o.ID == id {
			tc := TrafficChange{Service: "cloudfront", Name: o.ID, Target: o.DomainName, Headers: map[string]string{}}
			for _, h := range o.CustomHeaders {
				tc.Headers[h.Name] = h.Value
			}
			return tc, nil
		}
	}
	return TrafficChange{}, fmt.Errorf("the default cache behaviour targets origin %q, which is neither an origin nor an origin group of the distribution", v.TargetOriginID)
}

// AddDistribution creates a deployed distribution with the given DistributionConfig XML.
func (s *Server) AddDistribution(id string, config []byte) error {
	v, err := parseDistributionConfig(config)
	if err != nil {
		return fmt.Errorf("localcloud: distribution %s: config is not a DistributionConfig: %w", id, err)
	}
	if e := validateDistribution(config); e != nil {
		return fmt.Errorf("localcloud: distribution %s: %s: %s", id, e.Code, e.Message)
	}
	if _, err := v.target(); err != nil {
		return fmt.Errorf("localcloud: distribution %s: %w", id, err)
	}
	c := s.cloudfront
	c.mu.Lock()
	defer c.mu.Unlock()
	c.distributions[id] = &distribution{
		id: id, domain: strings.ToLower(id) + ".cloudfront.net", config: stripProlog(config),
		etag: c.newETag(), status: "Deployed", modified: time.Now().UTC(), callerRef: v.CallerReference,
	}
	return nil
}

// newETag must be called with c.mu held.
func (c *cloudfrontService) newETag() string {
	return fmt.Sprintf("E%013X", c.s.faults.nextSeq()*0x9E3779B97F4A7C15>>12)
}

func stripProlog(b []byte) []byte {
	b = bytes.TrimSpace(b)
	if bytes.HasPrefix(b, []byte("<?xml")) {
		if i := bytes.Index(b, []byte("?>")); i >= 0 {
			b = bytes.TrimSpace(b[i+2:])
		}
	}
	return append([]byte(nil), b...)
}

func (c *cloudfrontService) serve(w http.ResponseWriter, req *request) {
	requestID := c.s.requestID()
	rest := strings.TrimPrefix(req.URL.Path, "/2020-05-31/distribution/")
	id, sub, _ := strings.Cut(rest, "/")
	var op string
	switch {
	case rest == req.URL.Path || id == "":
	case req.Method == http.MethodGet && sub == "":
		op = "GetDistribution"
	case req.Method == http.MethodGet && sub == "config":
		op = "GetDistributionConfig"
	case req.Method == http.MethodPut && sub == "config":
		op = "UpdateDistribution"
	}
	if op == "" {
		writeXMLError(w, cloudfrontXMLNS, requestID, errorf(http.StatusBadRequest, "InvalidArgument",
			"localcloud emulates GetDistribution, GetDistributionConfig and UpdateDistribution, not %s %s", req.Method, req.URL.Path))
		return
	}
	if e := c.s.admit(req, "cloudfront:"+op, xmlThrottle); e != nil {
		writeXMLError(w, cloudfrontXMLNS, requestID, e)
		return
	}
	c.mu.Lock()
	d, ok := c.distributions[id]
	c.mu.Unlock()
	if !ok {
		writeXMLError(w, cloudfrontXMLNS, requestID, errorf(http.StatusNotFound, "NoSuchDistribution", "The specified distribution does not exist."))
		return
	}
	switch op {
	case "GetDistributionConfig":
		c.mu.Lock()
		etag, config := d.etag, d.config
		c.mu.Unlock()
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", "text/xml")
		w.Header().Set("x-amzn-RequestId", requestID)
		w.Write([]byte(xml.Header))
		w.Write(config)
	case "GetDistribution":
		c.writeDistribution(w, requestID, d)
	case "UpdateDistribution":
		if err := c.update(req, d); err != nil {
			writeXMLError(w, cloudfrontXMLNS, requestID, asAPIError(err))
			return
		}
		c.writeDistribution(w, requestID, d)
	}
}

func (c *cloudfrontService) update(req *request, d *distribution) error {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return errorf(http.StatusBadRequest, "MalformedInput", "read body: %v", err)
	}
	v, err := parseDistributionConfig(body)
	if err != nil {
		return errorf(http.StatusBadRequest, "MalformedXML", "The XML document you provided was not well-formed or did not validate against the published schema: %v", err)
	}
	if e := validateDistribution(body); e != nil {
		return e
	}
	tc, err := v.target()
	if err != nil {
		return errorf(http.StatusNotFound, "NoSuchOrigin", "%v", err)
	}
	ifMatch := req.Header.Get("If-Match")
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case ifMatch == "":
		return errorf(http.StatusBadRequest, "InvalidIfMatchVersion", "The If-Match version is missing or not valid for the resource.")
	case ifMatch != d.etag:
		return errorf(http.StatusPreconditionFailed, "PreconditionFailed", "The request failed because it didn't meet the preconditions in one or more request-header fields.")
	case v.CallerReference != d.callerRef:
		return errorf(http.StatusBadRequest, "IllegalUpdate", "The update contains modifications that are not allowed: CallerReference cannot change.")
	}
	d.config = stripProlog(body)
	d.etag = c.newETag()
	d.status = "InProgress"
	d.modified = time.Now().UTC()
	d.generation++
	gen := d.generation
	tc.Resource = d.id
	c.s.goBackground(func(ctx context.Context) {
		if !sleep(ctx, c.s.timing.CloudFrontPropagation) {
			return
		}
		c.mu.Lock()
		latest := d.generation == gen
		if latest {
			d.status = "Deployed"
		}
		c.mu.Unlock()
		if latest && c.s.traffic != nil {
			c.s.traffic(tc)
		}
	})
	return nil
}

type xmlDistribution struct {
	XMLName                       xml.Name `xml:"Distribution"`
	Xmlns                         string   `xml:"xmlns,attr"`
	ID                            string   `xml:"Id"`
	ARN                           string   `xml:"ARN"`
	Status                        string   `xml:"Status"`
	LastModifiedTime              string   `xml:"LastModifiedTime"`
	InProgressInvalidationBatches int      `xml:"InProgressInvalidationBatches"`
	DomainName                    string   `xml:"DomainName"`
	Config                        []byte   `xml:",innerxml"`
}

func (c *cloudfrontService) writeDistribution(w http.ResponseWriter, requestID string, d *distribution) {
	c.mu.Lock()
	x := xmlDistribution{
		Xmlns: cloudfrontXMLNS, ID: d.id, ARN: fmt.Sprintf("arn:aws:cloudfront::%s:distribution/%s", c.s.account, d.id),
		Status: d.status, LastModifiedTime: d.modified.Format(time.RFC3339Nano), DomainName: d.domain, Config: d.config,
	}
	etag := d.etag
	c.mu.Unlock()
	w.Header().Set("ETag", etag)
	writeXML(w, http.StatusOK, requestID, x)
}
