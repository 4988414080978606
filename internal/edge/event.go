package edge

// Event is what CloudFront passes to a Lambda@Edge function: always exactly one record.
type Event struct {
	Records []Record `json:"Records"`
}

// Record holds one CloudFront request event.
type Record struct {
	CF CF `json:"cf"`
}

// CF is the body of a record: the distribution it comes from and the request.
type CF struct {
	Config  Config  `json:"config"`
	Request Request `json:"request"`
}

// Event types CloudFront names in Config.EventType.
const (
	ViewerRequest  = "viewer-request"
	OriginRequest  = "origin-request"
	OriginResponse = "origin-response"
	ViewerResponse = "viewer-response"
)

// Config says which distribution and trigger produced the event.
type Config struct {
	DistributionDomainName string `json:"distributionDomainName"`
	DistributionID         string `json:"distributionId"`
	EventType              string `json:"eventType"`
	RequestID              string `json:"requestId"`
}

// Request is the request CloudFront is about to send; an origin-request function returns it,
// changed or not, as its result.
type Request struct {
	ClientIP    string  `json:"clientIp"`
	Headers     Headers `json:"headers,omitzero"`
	Method      string  `json:"method"`
	QueryString string  `json:"querystring"`
	URI         string  `json:"uri"`
	// Body is present only when the cache behaviour includes the body.
	Body *Body `json:"body,omitempty"`
	// Origin is present in origin-request events only.
	Origin *Origin `json:"origin,omitempty"`
}

// Headers maps each lower-case header name to its values in order; Key keeps the viewer's spelling.
type Headers map[string][]Header

// Header is one value of a header.
type Header struct {
	Key   string `json:"key,omitempty"`
	Value string `json:"value"`
}

// Value returns the first value of the header named lowerName and whether it is present.
func (h Headers) Value(lowerName string) (string, bool) {
	if v := h[lowerName]; len(v) > 0 {
		return v[0].Value, true
	}
	return "", false
}

// Body is the request body, base64 or text, possibly truncated by CloudFront.
type Body struct {
	InputTruncated bool   `json:"inputTruncated"`
	Action         string `json:"action"`
	Encoding       string `json:"encoding"`
	Data           string `json:"data"`
}

// Origin is the origin CloudFront picked for this request: one of Custom or S3.
type Origin struct {
	Custom *CustomOrigin `json:"custom,omitempty"`
	S3     *S3Origin     `json:"s3,omitempty"`
}

// CustomOrigin is any origin other than an S3 bucket, API Gateway included.
type CustomOrigin struct {
	CustomHeaders    Headers  `json:"customHeaders,omitzero"`
	DomainName       string   `json:"domainName"`
	KeepaliveTimeout int      `json:"keepaliveTimeout"`
	Path             string   `json:"path"`
	Port             int      `json:"port"`
	Protocol         string   `json:"protocol"`
	ReadTimeout      int      `json:"readTimeout"`
	SSLProtocols     []string `json:"sslProtocols,omitzero"`
}

// S3Origin is an S3 bucket origin.
type S3Origin struct {
	AuthMethod    string  `json:"authMethod"`
	CustomHeaders Headers `json:"customHeaders,omitzero"`
	DomainName    string  `json:"domainName"`
	Path          string  `json:"path"`
	Region        string  `json:"region"`
}
