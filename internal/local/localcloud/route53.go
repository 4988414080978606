package localcloud

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

const route53XMLNS = "https://route53.amazonaws.com/doc/2013-04-01/"

type xmlResourceRecordSet struct {
	Name            string              `xml:"Name"`
	Type            string              `xml:"Type"`
	SetIdentifier   string              `xml:"SetIdentifier,omitempty"`
	Weight          *int64              `xml:"Weight,omitempty"`
	Region          string              `xml:"Region,omitempty"`
	Failover        string              `xml:"Failover,omitempty"`
	TTL             *int64              `xml:"TTL,omitempty"`
	ResourceRecords *xmlResourceRecords `xml:"ResourceRecords,omitempty"`
	AliasTarget     *struct {
		HostedZoneID         string `xml:"HostedZoneId"`
		DNSName              string `xml:"DNSName"`
		EvaluateTargetHealth bool   `xml:"EvaluateTargetHealth"`
	} `xml:"AliasTarget,omitempty"`
	HealthCheckID string `xml:"HealthCheckId,omitempty"`
}

// xmlResourceRecords is a pointer in the record set so that alias records, which have none,
// carry no <ResourceRecords> element at all (an empty one reads as one empty record).
type xmlResourceRecords struct {
	Values []string `xml:"ResourceRecord>Value"`
}

func (r xmlResourceRecordSet) values() []string {
	if r.ResourceRecords == nil {
		return nil
	}
	return r.ResourceRecords.Values
}

func (r xmlResourceRecordSet) key() string {
	return r.Name + "|" + r.Type + "|" + r.SetIdentifier
}

type hostedZone struct {
	id      string
	name    string
	records map[string]xmlResourceRecordSet
}

type route53Change struct {
	id        string
	status    string
	submitted time.Time
	comment   string
}

type route53Service struct {
	s *Server

	mu      sync.Mutex
	zones   map[string]*hostedZone
	changes map[string]*route53Change
}

func newRoute53Service(s *Server) *route53Service {
	return &route53Service{s: s, zones: map[string]*hostedZone{}, changes: map[string]*route53Change{}}
}

// fqdn is Route 53's canonical record name: lower case with a trailing dot.
func fqdn(name string) string {
	name = strings.ToLower(name)
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}

// AddHostedZone creates an empty public hosted zone (id like "Z0123456789ABC", name like
// "example.com").
func (s *Server) AddHostedZone(id, name string) {
	r := s.route53
	r.mu.Lock()
	defer r.mu.Unlock()
	r.zones[id] = &hostedZone{id: id, name: fqdn(name), records: map[string]xmlResourceRecordSet{}}
}

func (r *route53Service) serve(w http.ResponseWriter, req *request) {
	requestID := r.s.requestID()
	path := strings.TrimSuffix(strings.TrimPrefix(req.URL.Path, "/2013-04-01/"), "/")
	parts := strings.Split(path, "/")
	var op string
	switch {
	case len(parts) == 3 && parts[0] == "hostedzone" && parts[2] == "rrset" && req.Method == http.MethodPost:
		op = "ChangeResourceRecordSets"
	case len(parts) == 3 && parts[0] == "hostedzone" && parts[2] == "rrset" && req.Method == http.MethodGet:
		op = "ListResourceRecordSets"
	case len(parts) == 2 && parts[0] == "change" && req.Method == http.MethodGet:
		op = "GetChange"
	default:
		writeXMLError(w, route53XMLNS, requestID, errorf(http.StatusBadRequest, "InvalidInput",
			"localcloud emulates ChangeResourceRecordSets, ListResourceRecordSets and GetChange, not %s %s", req.Method, req.URL.Path))
		return
	}
	if e := r.s.admit(req, "route53:"+op, xmlThrottle); e != nil {
		writeXMLError(w, route53XMLNS, requestID, e)
		return
	}
	var out any
	var err error
	switch op {
	case "ChangeResourceRecordSets":
		out, err = r.changeRecordSets(req, parts[1], requestID)
	case "ListResourceRecordSets":
		out, err = r.listRecordSets(req, parts[1])
	case "GetChange":
		out, err = r.getChange(parts[1])
	}
	if err != nil {
		writeXMLError(w, route53XMLNS, requestID, asAPIError(err))
		return
	}
	writeXML(w, http.StatusOK, requestID, out)
}

// invalidChangeBatch is Route 53's error for a rejected batch: an ordinary error response whose
// message lists every problem in brackets, which is where the AWS CLI and the SDKs read the reason.
func invalidChangeBatch(problems []string) *APIError {
	return errorf(http.StatusBadRequest, "InvalidChangeBatch", "[%s]", strings.Join(problems, ", "))
}

type xmlChangeInfo struct {
	ID          string `xml:"Id"`
	Status      string `xml:"Status"`
	SubmittedAt string `xml:"SubmittedAt"`
	Comment     string `xml:"Comment,omitempty"`
}

type changeInfoResponse struct {
	XMLName    xml.Name
	Xmlns      string        `xml:"xmlns,attr"`
	ChangeInfo xmlChangeInfo `xml:"ChangeInfo"`
}

func (c *route53Change) info() xmlChangeInfo {
	return xmlChangeInfo{ID: "/change/" + c.id, Status: c.status, SubmittedAt: c.submitted.Format(time.RFC3339), Comment: c.comment}
}

// zone must be called with r.mu held.
func (r *route53Service) zone(id string) (*hostedZone, error) {
	z, ok := r.zones[strings.TrimPrefix(id, "/hostedzone/")]
	if !ok {
		return nil, errorf(http.StatusNotFound, "NoSuchHostedZone", "No hosted zone found with ID: %s", id)
	}
	return z, nil
}

func (r *route53Service) changeRecordSets(req *request, zoneID, requestID string) (any, error) {
	var in struct {
		Comment string `xml:"ChangeBatch>Comment"`
		Changes []struct {
			Action string               `xml:"Action"`
			RRSet  xmlResourceRecordSet `xml:"ResourceRecordSet"`
		} `xml:"ChangeBatch>Changes>Change"`
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "InvalidInput", "read body: %v", err)
	}
	if err := xml.Unmarshal(body, &in); err != nil {
		return nil, errorf(http.StatusBadRequest, "InvalidInput", "The XML document is not well-formed: %v", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	z, err := r.zone(zoneID)
	if err != nil {
		return nil, err
	}
	// Validate the whole batch first: Route 53 applies a batch all or nothing.
	next := make(map[string]xmlResourceRecordSet, len(z.records))
	for k, v := range z.records {
		next[k] = v
	}
	var problems []string
	var changed []xmlResourceRecordSet
	for _, ch := range in.Changes {
		rs := ch.RRSet
		rs.Name = fqdn(rs.Name)
		if rs.Name != z.name && !strings.HasSuffix(rs.Name, "."+z.name) {
			problems = append(problems, fmt.Sprintf("RRSet with DNS name %s is not permitted in zone %s", rs.Name, z.name))
			continue
		}
		if rs.AliasTarget == nil && (rs.TTL == nil || len(rs.values()) == 0) {
			problems = append(problems, fmt.Sprintf("Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords]], but found none in Change with [Action=%s, Name=%s, Type=%s]", ch.Action, rs.Name, rs.Type))
			continue
		}
		old, exists := next[rs.key()]
		switch ch.Action {
		case "UPSERT":
			next[rs.key()] = rs
			changed = append(changed, rs)
		case "CREATE":
			if exists {
				problems = append(problems, fmt.Sprintf("Tried to create resource record set [name='%s', type='%s'] but it already exists", rs.Name, rs.Type))
				continue
			}
			next[rs.key()] = rs
			changed = append(changed, rs)
		case "DELETE":
			if !exists || !sameRecords(old, rs) {
				problems = append(problems, fmt.Sprintf("Tried to delete resource record set [name='%s', type='%s'] but it was not found", rs.Name, rs.Type))
				continue
			}
			delete(next, rs.key())
		default:
			return nil, errorf(http.StatusBadRequest, "InvalidInput", "Invalid XML ; Action %q is not CREATE, DELETE or UPSERT", ch.Action)
		}
	}
	if len(problems) > 0 {
		return nil, invalidChangeBatch(problems)
	}
	z.records = next
	c := &route53Change{id: fmt.Sprintf("C%012X", r.s.faults.nextSeq()), status: "PENDING", submitted: time.Now().UTC(), comment: in.Comment}
	r.changes[c.id] = c
	zone := z.id
	r.s.goBackground(func(ctx context.Context) {
		if !sleep(ctx, r.s.timing.Route53Propagation) {
			return
		}
		r.mu.Lock()
		c.status = "INSYNC"
		r.mu.Unlock()
		if r.s.traffic == nil {
			return
		}
		for _, rs := range changed {
			tc := TrafficChange{Service: "route53", Resource: zone, Name: rs.Name}
			if rs.AliasTarget != nil {
				tc.Target = rs.AliasTarget.DNSName
			} else {
				tc.Target = rs.values()[0]
			}
			r.s.traffic(tc)
		}
	})
	return changeInfoResponse{XMLName: xml.Name{Local: "ChangeResourceRecordSetsResponse"}, Xmlns: route53XMLNS, ChangeInfo: c.info()}, nil
}

// sameRecords reports whether a DELETE names the record as it is: Route 53 deletes only an exact match.
func sameRecords(a, b xmlResourceRecordSet) bool {
	av, bv := a.values(), b.values()
	if (a.TTL == nil) != (b.TTL == nil) || (a.TTL != nil && *a.TTL != *b.TTL) || len(av) != len(bv) {
		return false
	}
	for i := range av {
		if av[i] != bv[i] {
			return false
		}
	}
	return (a.AliasTarget == nil) == (b.AliasTarget == nil) && (a.AliasTarget == nil || *a.AliasTarget == *b.AliasTarget)
}

type listRecordSetsResponse struct {
	XMLName            xml.Name               `xml:"ListResourceRecordSetsResponse"`
	Xmlns              string                 `xml:"xmlns,attr"`
	ResourceRecordSets []xmlResourceRecordSet `xml:"ResourceRecordSets>ResourceRecordSet"`
	IsTruncated        bool                   `xml:"IsTruncated"`
	NextRecordName     string                 `xml:"NextRecordName,omitempty"`
	NextRecordType     string                 `xml:"NextRecordType,omitempty"`
	MaxItems           int                    `xml:"MaxItems"`
}

// reverseName orders records as Route 53 lists them: by name with labels reversed (com.example.www).
func reverseName(name string) string {
	labels := strings.Split(strings.TrimSuffix(name, "."), ".")
	for i, j := 0, len(labels)-1; i < j; i, j = i+1, j-1 {
		labels[i], labels[j] = labels[j], labels[i]
	}
	return strings.Join(labels, ".")
}

func (r *route53Service) listRecordSets(req *request, zoneID string) (any, error) {
	q := req.URL.Query()
	maxItems := 300
	if s := q.Get("maxitems"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return nil, errorf(http.StatusBadRequest, "InvalidInput", "maxitems %q is not a positive number", s)
		}
		maxItems = n
	}
	r.mu.Lock()
	z, err := r.zone(zoneID)
	if err != nil {
		r.mu.Unlock()
		return nil, err
	}
	all := make([]xmlResourceRecordSet, 0, len(z.records))
	for _, rs := range z.records {
		all = append(all, rs)
	}
	r.mu.Unlock()
	sort.Slice(all, func(i, j int) bool {
		a, b := reverseName(all[i].Name), reverseName(all[j].Name)
		if a != b {
			return a < b
		}
		return all[i].Type < all[j].Type
	})
	if start := q.Get("name"); start != "" {
		startKey, startType := reverseName(fqdn(start)), q.Get("type")
		i := sort.Search(len(all), func(i int) bool {
			k := reverseName(all[i].Name)
			return k > startKey || (k == startKey && all[i].Type >= startType)
		})
		all = all[i:]
	}
	out := listRecordSetsResponse{Xmlns: route53XMLNS, MaxItems: maxItems, ResourceRecordSets: all}
	if len(all) > maxItems {
		out.ResourceRecordSets = all[:maxItems]
		out.IsTruncated = true
		out.NextRecordName, out.NextRecordType = all[maxItems].Name, all[maxItems].Type
	}
	return out, nil
}

func (r *route53Service) getChange(id string) (any, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.changes[strings.TrimPrefix(id, "/change/")]
	if !ok {
		return nil, errorf(http.StatusNotFound, "NoSuchChange", "A change with the specified change ID does not exist: %s", id)
	}
	return changeInfoResponse{XMLName: xml.Name{Local: "GetChangeResponse"}, Xmlns: route53XMLNS, ChangeInfo: c.info()}, nil
}
