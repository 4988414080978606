package localcloud

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"slices"
	"strings"
)

// distributionRules is the part of a DistributionConfig CloudFront validates that a Switchyard
// distribution touches. Every refusal carries CloudFront's error code; where CloudFront's documented
// message is known it is used word for word.
type distributionRules struct {
	Aliases quantityList `xml:"Aliases"`
	Origins struct {
		Quantity int            `xml:"Quantity"`
		Items    []originConfig `xml:"Items>Origin"`
	} `xml:"Origins"`
	OriginGroups struct {
		Quantity int `xml:"Quantity"`
		Items    []struct {
			ID      string `xml:"Id"`
			Members struct {
				Quantity int      `xml:"Quantity"`
				Items    []string `xml:"Items>OriginGroupMember>OriginId"`
			} `xml:"Members"`
		} `xml:"Items>OriginGroup"`
	} `xml:"OriginGroups"`
	DefaultCacheBehavior cacheBehavior `xml:"DefaultCacheBehavior"`
	CacheBehaviors       struct {
		Quantity int             `xml:"Quantity"`
		Items    []cacheBehavior `xml:"Items>CacheBehavior"`
	} `xml:"CacheBehaviors"`
	ViewerCertificate *struct {
		CloudFrontDefaultCertificate bool   `xml:"CloudFrontDefaultCertificate"`
		ACMCertificateArn            string `xml:"ACMCertificateArn"`
		IAMCertificateID             string `xml:"IAMCertificateId"`
		SSLSupportMethod             string `xml:"SSLSupportMethod"`
		MinimumProtocolVersion       string `xml:"MinimumProtocolVersion"`
	} `xml:"ViewerCertificate"`
}

type quantityList struct {
	Quantity int        `xml:"Quantity"`
	Items    []xml.Name `xml:",any"`
	Inner    []byte     `xml:",innerxml"`
}

// count is the number of elements under <Items>.
func (q quantityList) count() int {
	dec := xml.NewDecoder(bytes.NewReader(q.Inner))
	depth, n := 0, 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return n
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 2 && t.Name.Local != "" {
				n++
			}
		case xml.EndElement:
			depth--
		}
	}
}

type originConfig struct {
	ID            string `xml:"Id"`
	CustomHeaders struct {
		Quantity int `xml:"Quantity"`
		Items    []struct {
			Name  string `xml:"HeaderName"`
			Value string `xml:"HeaderValue"`
		} `xml:"Items>OriginCustomHeader"`
	} `xml:"CustomHeaders"`
	CustomOriginConfig *struct {
		OriginReadTimeout      *int `xml:"OriginReadTimeout"`
		OriginKeepaliveTimeout *int `xml:"OriginKeepaliveTimeout"`
	} `xml:"CustomOriginConfig"`
	ConnectionAttempts *int `xml:"ConnectionAttempts"`
	ConnectionTimeout  *int `xml:"ConnectionTimeout"`
}

type cacheBehavior struct {
	PathPattern    string `xml:"PathPattern"`
	TargetOriginID string `xml:"TargetOriginId"`
	AllowedMethods *struct {
		Quantity      int      `xml:"Quantity"`
		Items         []string `xml:"Items>Method"`
		CachedMethods struct {
			Quantity int      `xml:"Quantity"`
			Items    []string `xml:"Items>Method"`
		} `xml:"CachedMethods"`
	} `xml:"AllowedMethods"`
	LambdaFunctionAssociations struct {
		Quantity int `xml:"Quantity"`
		Items    []struct {
			ARN         string `xml:"LambdaFunctionARN"`
			EventType   string `xml:"EventType"`
			IncludeBody bool   `xml:"IncludeBody"`
		} `xml:"Items>LambdaFunctionAssociation"`
	} `xml:"LambdaFunctionAssociations"`
}

// Headers CloudFront refuses as origin custom headers ("Custom headers that CloudFront can't add to
// origin requests"), plus the X-Amz- and X-Edge- prefixes.
var forbiddenCustomHeaders = []string{
	"cache-control", "connection", "content-length", "cookie", "host", "if-match", "if-modified-since",
	"if-none-match", "if-range", "if-unmodified-since", "max-forwards", "pragma", "proxy-authorization",
	"proxy-connection", "range", "request-range", "te", "trailer", "transfer-encoding", "upgrade", "via",
	"x-real-ip",
}

var (
	methodSets       = [][]string{{"GET", "HEAD"}, {"GET", "HEAD", "OPTIONS"}, {"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"}}
	cachedMethodSets = [][]string{{"GET", "HEAD"}, {"GET", "HEAD", "OPTIONS"}}
	edgeEventTypes   = []string{"viewer-request", "origin-request", "origin-response", "viewer-response"}
	protocolVersions = []string{"SSLv3", "TLSv1", "TLSv1_2016", "TLSv1.1_2016", "TLSv1.2_2018", "TLSv1.2_2019", "TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025"}
)

func inconsistent() *APIError {
	return errorf(http.StatusBadRequest, "InconsistentQuantities", "The value of Quantity and the size of Items don't match.")
}

func invalid(format string, args ...any) *APIError {
	return errorf(http.StatusBadRequest, "InvalidArgument", format, args...)
}

func sameSet(a []string, sets [][]string) bool {
	s := slices.Clone(a)
	slices.Sort(s)
	for _, set := range sets {
		if slices.Equal(s, set) {
			return true
		}
	}
	return false
}

// validateDistribution applies CloudFront's documented rules to a DistributionConfig; nil when it
// would be accepted as far as those rules go.
func validateDistribution(raw []byte) *APIError {
	var d distributionRules
	dec := xml.NewDecoder(bytes.NewReader(raw))
	start, err := rootElement(dec)
	if err != nil {
		return errorf(http.StatusBadRequest, "MalformedXML", "The XML document you provided was not well-formed or did not validate against the published schema: %v", err)
	}
	if err := dec.DecodeElement(&d, &start); err != nil {
		return errorf(http.StatusBadRequest, "MalformedXML", "The XML document you provided was not well-formed or did not validate against the published schema: %v", err)
	}
	if d.Aliases.Quantity != d.Aliases.count() && !(d.Aliases.Quantity == 0 && len(d.Aliases.Inner) == 0) {
		return inconsistent()
	}
	if d.Origins.Quantity != len(d.Origins.Items) || d.OriginGroups.Quantity != len(d.OriginGroups.Items) {
		return inconsistent()
	}
	origins := map[string]bool{}
	for _, o := range d.Origins.Items {
		if origins[o.ID] {
			return invalid("The parameter Origin Id must be unique: %s is used twice.", o.ID)
		}
		origins[o.ID] = true
		if e := validateOrigin(o); e != nil {
			return e
		}
	}
	groups := map[string]bool{}
	for _, g := range d.OriginGroups.Items {
		if g.Members.Quantity != len(g.Members.Items) {
			return inconsistent()
		}
		if origins[g.ID] || groups[g.ID] {
			return invalid("The parameter OriginGroup Id must be unique among origins and origin groups: %s is used twice.", g.ID)
		}
		groups[g.ID] = true
		if len(g.Members.Items) != 2 {
			return invalid("The parameter Members of origin group %s must contain exactly 2 origins.", g.ID)
		}
		for _, m := range g.Members.Items {
			if !origins[m] {
				return errorf(http.StatusNotFound, "NoSuchOrigin", "One or more of your origins or origin groups do not exist.")
			}
		}
	}
	behaviors := append([]cacheBehavior{d.DefaultCacheBehavior}, d.CacheBehaviors.Items...)
	if d.CacheBehaviors.Quantity != len(d.CacheBehaviors.Items) {
		return inconsistent()
	}
	for _, b := range behaviors {
		if e := validateBehavior(b, origins, groups); e != nil {
			return e
		}
	}
	return validateViewerCertificate(d)
}

func validateOrigin(o originConfig) *APIError {
	h := o.CustomHeaders
	if h.Quantity != len(h.Items) {
		return inconsistent()
	}
	if len(h.Items) > 10 {
		return errorf(http.StatusBadRequest, "TooManyOriginCustomHeaders", "Your request contains too many origin custom headers.")
	}
	total := 0
	for _, c := range h.Items {
		lower := strings.ToLower(c.Name)
		if slices.Contains(forbiddenCustomHeaders, lower) || strings.HasPrefix(lower, "x-amz-") || strings.HasPrefix(lower, "x-edge-") {
			return invalid("The parameter HeaderName : %s is not allowed.", c.Name)
		}
		if len(c.Name) > 256 || len(c.Value) > 1783 {
			return invalid("The parameter HeaderName or HeaderValue of origin %s exceeds its maximum length (256 and 1783 characters).", o.ID)
		}
		total += len(c.Name) + len(c.Value)
	}
	if total > 10240 {
		return invalid("The origin custom headers of origin %s exceed 10240 characters in all.", o.ID)
	}
	if c := o.CustomOriginConfig; c != nil {
		if c.OriginReadTimeout != nil && (*c.OriginReadTimeout < 1 || *c.OriginReadTimeout > 60) {
			return errorf(http.StatusBadRequest, "InvalidOriginReadTimeout", "The read timeout specified for the origin is not valid.")
		}
		if c.OriginKeepaliveTimeout != nil && (*c.OriginKeepaliveTimeout < 1 || *c.OriginKeepaliveTimeout > 60) {
			return errorf(http.StatusBadRequest, "InvalidOriginKeepaliveTimeout", "The keep alive timeout specified for the origin is not valid.")
		}
	}
	if n := o.ConnectionAttempts; n != nil && (*n < 1 || *n > 3) {
		return invalid("The parameter ConnectionAttempts must be between 1 and 3.")
	}
	if n := o.ConnectionTimeout; n != nil && (*n < 1 || *n > 10) {
		return invalid("The parameter ConnectionTimeout must be between 1 and 10.")
	}
	return nil
}

func validateBehavior(b cacheBehavior, origins, groups map[string]bool) *APIError {
	if !origins[b.TargetOriginID] && !groups[b.TargetOriginID] {
		return errorf(http.StatusNotFound, "NoSuchOrigin", "One or more of your origins or origin groups do not exist.")
	}
	methods := []string{"GET", "HEAD"}
	if m := b.AllowedMethods; m != nil {
		if m.Quantity != len(m.Items) || m.CachedMethods.Quantity != len(m.CachedMethods.Items) {
			return inconsistent()
		}
		if !sameSet(m.Items, methodSets) {
			return invalid("The parameter AllowedMethods must be GET, HEAD; GET, HEAD, OPTIONS; or GET, HEAD, OPTIONS, PUT, PATCH, POST, DELETE.")
		}
		if len(m.CachedMethods.Items) > 0 && !sameSet(m.CachedMethods.Items, cachedMethodSets) {
			return invalid("The parameter CachedMethods must be GET, HEAD or GET, HEAD, OPTIONS.")
		}
		methods = m.Items
	}
	if groups[b.TargetOriginID] && slices.ContainsFunc(methods, func(m string) bool { return m == "POST" || m == "PUT" || m == "PATCH" || m == "DELETE" }) {
		return invalid("The parameter AllowedMethods cannot include POST, PUT, PATCH, or DELETE for a cached behavior associated with an origin group.")
	}
	l := b.LambdaFunctionAssociations
	if l.Quantity != len(l.Items) {
		return inconsistent()
	}
	seen := map[string]bool{}
	for _, a := range l.Items {
		bad := func(detail string) *APIError {
			return errorf(http.StatusBadRequest, "InvalidLambdaFunctionAssociation", "The specified Lambda function association is invalid: %s", detail)
		}
		switch {
		case !slices.Contains(edgeEventTypes, a.EventType):
			return bad("EventType " + a.EventType + " is not one of viewer-request, origin-request, origin-response, viewer-response.")
		case seen[a.EventType]:
			return bad("a cache behavior can have only one association for EventType " + a.EventType + ".")
		case a.IncludeBody && a.EventType != "viewer-request" && a.EventType != "origin-request":
			return bad("IncludeBody is allowed only for viewer-request and origin-request.")
		}
		seen[a.EventType] = true
		parts := strings.Split(a.ARN, ":")
		// arn:aws:lambda:us-east-1:ACCOUNT:function:NAME:VERSION
		if len(parts) != 8 || parts[2] != "lambda" || parts[5] != "function" {
			return bad("The function ARN must reference a specific function version. (The ARN must end with the version number.)")
		}
		if parts[3] != "us-east-1" {
			return bad("The function must be in region 'us-east-1'.")
		}
		if v := parts[7]; v == "" || v == "$LATEST" || strings.Trim(v, "0123456789") != "" {
			return bad("The function ARN must reference a specific function version. (The ARN must end with the version number.)")
		}
	}
	return nil
}

func validateViewerCertificate(d distributionRules) *APIError {
	vc := d.ViewerCertificate
	defaultCert := vc == nil || vc.CloudFrontDefaultCertificate || (vc.ACMCertificateArn == "" && vc.IAMCertificateID == "")
	if d.Aliases.Quantity > 0 && defaultCert {
		return errorf(http.StatusBadRequest, "InvalidViewerCertificate", "To add an alternate domain name (CNAME) to a CloudFront distribution, you must attach a trusted certificate that validates your authorization to use the domain name.")
	}
	if vc == nil {
		return nil
	}
	if vc.ACMCertificateArn != "" {
		if parts := strings.Split(vc.ACMCertificateArn, ":"); len(parts) < 6 || parts[2] != "acm" || parts[3] != "us-east-1" {
			return errorf(http.StatusBadRequest, "InvalidViewerCertificate", "The specified SSL certificate doesn't exist, isn't in us-east-1 region, isn't valid, or doesn't include a valid certificate chain.")
		}
	}
	if vc.MinimumProtocolVersion != "" && !slices.Contains(protocolVersions, vc.MinimumProtocolVersion) {
		return errorf(http.StatusBadRequest, "InvalidMinimumProtocolVersion", "The minimum protocol version specified is not valid.")
	}
	return nil
}
