package localcloud

import (
	"encoding/xml"
	"net/http"
)

// queryResponse is the envelope of every AWS Query protocol answer (RDS, SNS):
// <ActionResponse><ActionResult>...</ActionResult><ResponseMetadata>...</ResponseMetadata></ActionResponse>.
type queryResponse struct {
	XMLName   xml.Name
	Xmlns     string `xml:"xmlns,attr"`
	Result    any
	RequestID string `xml:"ResponseMetadata>RequestId"`
}

type xmlErrorResponse struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	Xmlns     string   `xml:"xmlns,attr,omitempty"`
	Type      string   `xml:"Error>Type"`
	Code      string   `xml:"Error>Code"`
	Message   string   `xml:"Error>Message"`
	RequestID string   `xml:"RequestId"`
}

// writeQueryResult answers a Query protocol action; result must marshal as <ActionResult>.
func writeQueryResult(w http.ResponseWriter, action, xmlns, requestID string, result any) {
	writeXML(w, http.StatusOK, requestID, queryResponse{
		XMLName:   xml.Name{Local: action + "Response"},
		Xmlns:     xmlns,
		Result:    result,
		RequestID: requestID,
	})
}

// writeXMLError writes the <ErrorResponse> both Query and REST-XML services use.
func writeXMLError(w http.ResponseWriter, xmlns, requestID string, e *APIError) {
	writeXML(w, e.Status, requestID, xmlErrorResponse{
		Xmlns:     xmlns,
		Type:      e.faultType(),
		Code:      e.Code,
		Message:   e.Message,
		RequestID: requestID,
	})
}

func writeXML(w http.ResponseWriter, status int, requestID string, v any) {
	body, err := xml.Marshal(v)
	if err != nil {
		http.Error(w, "localcloud: encode XML response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", requestID)
	w.WriteHeader(status)
	w.Write([]byte(xml.Header))
	w.Write(body)
}

// xmlThrottle is the throttling error of the XML services (RDS, SNS, CloudFront, Route 53).
func xmlThrottle() *APIError {
	return &APIError{Status: http.StatusBadRequest, Code: "Throttling", Message: "Rate exceeded"}
}
