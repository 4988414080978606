package localcloud

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

const rdsXMLNS = "http://rds.amazonaws.com/doc/2014-10-31/"

// FailoverState statuses, as DescribeGlobalClusters reports them.
const (
	failoverPending       = "pending"
	failoverSwitchingOver = "switching-over"
	failoverFailingOver   = "failing-over"
	failoverCancelling    = "cancelling"
)

type rdsService struct {
	s *Server

	mu      sync.Mutex
	globals map[string]*globalCluster // by lower-case identifier: AWS matches it case-insensitively
}

type globalCluster struct {
	id       string
	db       GlobalDatabase
	failover *xmlFailoverState // nil when nothing runs
	// lastWriter is the writer the backend last reported. A backend that cannot reach a
	// failed writer reports no writer at all; RDS's control plane still lists the old primary
	// as writer until a failover replaces it, so the emulator does too.
	lastWriter string
}

func newRDSService(s *Server) *rdsService {
	return &rdsService{s: s, globals: map[string]*globalCluster{}}
}

// AddGlobalCluster registers an Aurora global database under identifier id, backed by db.
func (s *Server) AddGlobalCluster(id string, db GlobalDatabase) {
	s.rds.mu.Lock()
	defer s.rds.mu.Unlock()
	s.rds.globals[strings.ToLower(id)] = &globalCluster{id: id, db: db}
}

func (r *rdsService) serve(w http.ResponseWriter, req *request) {
	requestID := r.s.requestID()
	if err := req.ParseForm(); err != nil {
		writeXMLError(w, rdsXMLNS, requestID, errorf(http.StatusBadRequest, "MalformedQueryString", "%v", err))
		return
	}
	action := req.PostForm.Get("Action")
	if e := r.s.admit(req, "rds:"+action, xmlThrottle); e != nil {
		writeXMLError(w, rdsXMLNS, requestID, e)
		return
	}
	var result any
	var err error
	switch action {
	case "DescribeGlobalClusters":
		result, err = r.describeGlobalClusters(req)
	case "SwitchoverGlobalCluster":
		result, err = r.promote(req, false)
	case "FailoverGlobalCluster":
		if req.PostForm.Get("AllowDataLoss") == "true" && req.PostForm.Get("Switchover") == "true" {
			err = errorf(http.StatusBadRequest, "InvalidParameterCombination", "AllowDataLoss and Switchover cannot both be specified.")
			break
		}
		result, err = r.promote(req, req.PostForm.Get("AllowDataLoss") == "true")
	case "DescribeDBClusters":
		result, err = r.describeDBClusters(req)
	default:
		err = errorf(http.StatusBadRequest, "InvalidAction", "The action %s is not valid for this web service (localcloud emulates DescribeGlobalClusters, SwitchoverGlobalCluster, FailoverGlobalCluster, DescribeDBClusters).", action)
	}
	if err != nil {
		writeXMLError(w, rdsXMLNS, requestID, asAPIError(err))
		return
	}
	writeQueryResult(w, action, rdsXMLNS, requestID, result)
}

type xmlFailoverState struct {
	Status            string `xml:"Status"`
	FromDbClusterArn  string `xml:"FromDbClusterArn"`
	ToDbClusterArn    string `xml:"ToDbClusterArn"`
	IsDataLossAllowed bool   `xml:"IsDataLossAllowed"`
}

type xmlGlobalClusterMember struct {
	DBClusterArn          string   `xml:"DBClusterArn"`
	Readers               []string `xml:"Readers>member"`
	IsWriter              bool     `xml:"IsWriter"`
	SynchronizationStatus string   `xml:"SynchronizationStatus"`
}

type xmlGlobalCluster struct {
	GlobalClusterIdentifier string                   `xml:"GlobalClusterIdentifier"`
	GlobalClusterResourceId string                   `xml:"GlobalClusterResourceId"`
	GlobalClusterArn        string                   `xml:"GlobalClusterArn"`
	Status                  string                   `xml:"Status"`
	Engine                  string                   `xml:"Engine"`
	EngineVersion           string                   `xml:"EngineVersion"`
	StorageEncrypted        bool                     `xml:"StorageEncrypted"`
	DeletionProtection      bool                     `xml:"DeletionProtection"`
	Members                 []xmlGlobalClusterMember `xml:"GlobalClusterMembers>GlobalClusterMember"`
	FailoverState           *xmlFailoverState        `xml:"FailoverState"`
}

type describeGlobalClustersResult struct {
	XMLName        xml.Name           `xml:"DescribeGlobalClustersResult"`
	GlobalClusters []xmlGlobalCluster `xml:"GlobalClusters>GlobalClusterMember"`
}

type globalClusterResult struct {
	XMLName       xml.Name
	GlobalCluster xmlGlobalCluster `xml:"GlobalCluster"`
}

func (r *rdsService) lookup(id string) (*globalCluster, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	gc, ok := r.globals[strings.ToLower(id)]
	if !ok {
		return nil, errorf(http.StatusNotFound, "GlobalClusterNotFoundFault", "Global cluster %s not found.", id)
	}
	return gc, nil
}

func (r *rdsService) describe(ctx context.Context, gc *globalCluster) (xmlGlobalCluster, GlobalClusterState, error) {
	st, err := gc.db.Describe(ctx)
	if err != nil {
		return xmlGlobalCluster{}, st, fmt.Errorf("describe global cluster %s: %w", gc.id, err)
	}
	r.rememberWriter(gc, &st)
	out := xmlGlobalCluster{
		GlobalClusterIdentifier: gc.id,
		GlobalClusterResourceId: "cluster-" + strings.ToLower(gc.id),
		GlobalClusterArn:        fmt.Sprintf("arn:aws:rds::%s:global-cluster:%s", r.s.account, gc.id),
		Status:                  ClusterAvailable,
		Engine:                  st.Engine,
		EngineVersion:           st.EngineVersion,
		StorageEncrypted:        true,
	}
	var secondaries []string
	for _, m := range st.Members {
		if !m.Writer {
			secondaries = append(secondaries, m.ARN)
		}
	}
	for _, m := range st.Members {
		xm := xmlGlobalClusterMember{DBClusterArn: m.ARN, IsWriter: m.Writer, SynchronizationStatus: "connected"}
		if m.Writer {
			xm.Readers = secondaries
		}
		if !m.Synchronized {
			xm.SynchronizationStatus = "pending-resync"
		}
		out.Members = append(out.Members, xm)
	}
	r.mu.Lock()
	if gc.failover != nil {
		fs := *gc.failover
		out.FailoverState = &fs
		if fs.Status == failoverSwitchingOver || fs.Status == failoverFailingOver {
			out.Status = fs.Status
		}
	}
	r.mu.Unlock()
	return out, st, nil
}

// rememberWriter records the reported writer, or marks the remembered one when none is reported.
func (r *rdsService) rememberWriter(gc *globalCluster, st *GlobalClusterState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st.Members = append([]ClusterMember(nil), st.Members...)
	for _, m := range st.Members {
		if m.Writer {
			gc.lastWriter = m.ARN
			return
		}
	}
	for i := range st.Members {
		if st.Members[i].ARN == gc.lastWriter {
			st.Members[i].Writer = true
		}
	}
}

func (r *rdsService) describeGlobalClusters(req *request) (any, error) {
	var targets []*globalCluster
	if id := req.PostForm.Get("GlobalClusterIdentifier"); id != "" {
		gc, err := r.lookup(id)
		if err != nil {
			return nil, err
		}
		targets = append(targets, gc)
	} else {
		r.mu.Lock()
		for _, gc := range r.globals {
			targets = append(targets, gc)
		}
		r.mu.Unlock()
		sort.Slice(targets, func(i, j int) bool { return targets[i].id < targets[j].id })
	}
	res := describeGlobalClustersResult{GlobalClusters: []xmlGlobalCluster{}}
	for _, gc := range targets {
		x, _, err := r.describe(req.Context(), gc)
		if err != nil {
			return nil, err
		}
		res.GlobalClusters = append(res.GlobalClusters, x)
	}
	return res, nil
}

// healthy reports whether a member can take part in a switchover: available and in a region
// whose endpoints answer.
func (r *rdsService) healthy(m ClusterMember) bool {
	a, _ := parseClusterARN(m.ARN)
	return m.Status == ClusterAvailable && !r.s.RegionDown(a.region)
}

// promote starts SwitchoverGlobalCluster or FailoverGlobalCluster after checking what AWS
// checks, and answers at once with FailoverState pending, as AWS does.
func (r *rdsService) promote(req *request, allowDataLoss bool) (any, error) {
	action := req.PostForm.Get("Action")
	id := req.PostForm.Get("GlobalClusterIdentifier")
	target := req.PostForm.Get("TargetDbClusterIdentifier")
	if id == "" || target == "" {
		return nil, errorf(http.StatusBadRequest, "MissingParameter", "%s needs GlobalClusterIdentifier and TargetDbClusterIdentifier.", action)
	}
	gc, err := r.lookup(id)
	if err != nil {
		return nil, err
	}
	_, st, err := r.describe(req.Context(), gc)
	if err != nil {
		return nil, err
	}
	var writer, tgt *ClusterMember
	for i, m := range st.Members {
		a, _ := parseClusterARN(m.ARN)
		if m.ARN == target || (a.id == target && a.region == req.region) {
			tgt = &st.Members[i]
		}
		if m.Writer {
			writer = &st.Members[i]
		}
	}
	switch {
	case tgt == nil:
		return nil, errorf(http.StatusNotFound, "DBClusterNotFoundFault", "The DB cluster %s is not a member of global cluster %s.", target, gc.id)
	case tgt.Writer:
		return nil, errorf(http.StatusBadRequest, "InvalidGlobalClusterStateFault", "The DB cluster %s is already the primary cluster of global cluster %s.", tgt.ARN, gc.id)
	case !r.healthy(*tgt):
		return nil, errorf(http.StatusBadRequest, "InvalidDBClusterStateFault", "The target DB cluster %s is not available (status %s).", tgt.ARN, tgt.Status)
	}
	if !allowDataLoss {
		if writer == nil || !r.healthy(*writer) {
			return nil, errorf(http.StatusBadRequest, "InvalidDBClusterStateFault", "The primary DB cluster of global cluster %s is not available; a switchover needs a healthy primary. Use FailoverGlobalCluster with AllowDataLoss to fail over.", gc.id)
		}
		for _, m := range st.Members {
			if !m.Synchronized {
				return nil, errorf(http.StatusBadRequest, "InvalidGlobalClusterStateFault", "Global cluster %s member %s is not synchronized (pending-resync); a switchover needs every member synchronized.", gc.id, m.ARN)
			}
		}
	}
	from := ""
	if writer != nil {
		from = writer.ARN
	}
	state := &xmlFailoverState{Status: failoverPending, FromDbClusterArn: from, ToDbClusterArn: tgt.ARN, IsDataLossAllowed: allowDataLoss}
	r.mu.Lock()
	if gc.failover != nil {
		r.mu.Unlock()
		return nil, errorf(http.StatusBadRequest, "InvalidGlobalClusterStateFault", "Global cluster %s already has a %s in progress (status %s).", gc.id, opName(gc.failover.IsDataLossAllowed), gc.failover.Status)
	}
	gc.failover = state
	r.mu.Unlock()
	r.s.goBackground(func(ctx context.Context) { r.runFailover(ctx, gc, tgt.ARN, allowDataLoss) })

	out, _, err := r.describe(req.Context(), gc)
	if err != nil {
		return nil, err
	}
	return globalClusterResult{XMLName: xml.Name{Local: action + "Result"}, GlobalCluster: out}, nil
}

func opName(dataLoss bool) string {
	if dataLoss {
		return "failover"
	}
	return "switchover"
}

// runFailover walks FailoverState through pending → switching-over|failing-over → absent while
// the backend does the work; a backend failure shows as cancelling before the state clears, and
// is logged since AWS would report it only as an RDS event.
//
// The backend may change roles as soon as it starts (the in-memory one does), so callers can see
// the target as writer while FailoverState is still present: done means both, as on AWS.
func (r *rdsService) runFailover(ctx context.Context, gc *globalCluster, target string, dataLoss bool) {
	setStatus := func(status string) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if status == "" {
			gc.failover = nil
			return
		}
		gc.failover.Status = status
	}
	t := r.s.timing
	if !sleep(ctx, t.FailoverPending) {
		return
	}
	running := failoverSwitchingOver
	if dataLoss {
		running = failoverFailingOver
	}
	setStatus(running)
	done := make(chan error, 1)
	go func() {
		if dataLoss {
			done <- gc.db.Failover(ctx, target)
		} else {
			done <- gc.db.Switchover(ctx, target)
		}
	}()
	began := time.Now()
	if !sleep(ctx, t.FailoverPromote) {
		<-done // the backend sees ctx end too; do not leave it running past Close
		return
	}
	err := <-done
	r.s.log.Info("global cluster promotion", "globalCluster", gc.id, "operation", opName(dataLoss),
		"target", target, "durationMs", time.Since(began).Milliseconds(), "ok", err == nil)
	if err != nil {
		r.s.log.Warn("global cluster promotion failed; FailoverState goes to cancelling",
			"globalCluster", gc.id, "target", target, "error", err.Error())
		setStatus(failoverCancelling)
		if !sleep(ctx, t.FailoverPending) {
			return
		}
	}
	setStatus("")
}

type xmlDBCluster struct {
	DBClusterIdentifier     string `xml:"DBClusterIdentifier"`
	DBClusterArn            string `xml:"DBClusterArn"`
	Status                  string `xml:"Status"`
	Engine                  string `xml:"Engine"`
	EngineVersion           string `xml:"EngineVersion"`
	Endpoint                string `xml:"Endpoint,omitempty"`
	Port                    int32  `xml:"Port,omitempty"`
	GlobalClusterIdentifier string `xml:"GlobalClusterIdentifier"`
	MultiAZ                 bool   `xml:"MultiAZ"`
}

type describeDBClustersResult struct {
	XMLName    xml.Name       `xml:"DescribeDBClustersResult"`
	DBClusters []xmlDBCluster `xml:"DBClusters>DBCluster"`
}

// describeDBClusters answers for the clusters of the called region only: the RDS endpoint is
// regional, so a cluster in another region is not found there.
func (r *rdsService) describeDBClusters(req *request) (any, error) {
	want := req.PostForm.Get("DBClusterIdentifier")
	r.mu.Lock()
	var gcs []*globalCluster
	for _, gc := range r.globals {
		gcs = append(gcs, gc)
	}
	r.mu.Unlock()
	sort.Slice(gcs, func(i, j int) bool { return gcs[i].id < gcs[j].id })
	res := describeDBClustersResult{DBClusters: []xmlDBCluster{}}
	for _, gc := range gcs {
		st, err := gc.db.Describe(req.Context())
		if err != nil {
			return nil, fmt.Errorf("describe global cluster %s: %w", gc.id, err)
		}
		for _, m := range st.Members {
			a, ok := parseClusterARN(m.ARN)
			if !ok || a.region != req.region {
				continue
			}
			if want != "" && want != m.ARN && !strings.EqualFold(want, a.id) {
				continue
			}
			res.DBClusters = append(res.DBClusters, xmlDBCluster{
				DBClusterIdentifier: a.id, DBClusterArn: m.ARN, Status: m.Status,
				Engine: st.Engine, EngineVersion: st.EngineVersion,
				Endpoint: m.Endpoint, Port: m.Port, GlobalClusterIdentifier: gc.id,
			})
		}
	}
	if want != "" && len(res.DBClusters) == 0 {
		return nil, errorf(http.StatusNotFound, "DBClusterNotFoundFault", "DBCluster %s not found.", want)
	}
	return res, nil
}
