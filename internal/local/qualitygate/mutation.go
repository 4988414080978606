package qualitygate

import (
	"encoding/json"
	"fmt"
	"os"
)

// MutationResult is the part of a gremlins JSON report (unleash --output) that a floor is checked
// against.
type MutationResult struct {
	Killed     int `json:"mutants_killed"`
	Lived      int `json:"mutants_lived"`
	NotCovered int `json:"mutants_not_covered"`
}

// ReadMutationResult reads a gremlins JSON report.
func ReadMutationResult(path string) (MutationResult, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return MutationResult{}, err
	}
	var r MutationResult
	if err := json.Unmarshal(b, &r); err != nil {
		return MutationResult{}, fmt.Errorf("%s is not a gremlins JSON report: %w", path, err)
	}
	return r, nil
}

// Efficacy is the share of tested mutants that a test killed, in percent.
func (r MutationResult) Efficacy() float64 {
	if r.Killed+r.Lived == 0 {
		return 0
	}
	return 100 * float64(r.Killed) / float64(r.Killed+r.Lived)
}

// MeetsFloor reports whether efficacy is at least floor percent. A run that tested no mutant meets
// no floor: it says nothing about the tests.
func (r MutationResult) MeetsFloor(floor float64) error {
	if r.Killed+r.Lived == 0 {
		return fmt.Errorf("no mutant was tested (%d not covered): nothing shows the tests can fail", r.NotCovered)
	}
	// Compared in whole mutants, so that 19 of 20 meets a 95 % floor exactly.
	if float64(r.Killed)*100 < floor*float64(r.Killed+r.Lived) {
		return fmt.Errorf("test efficacy %.2f %% (%d killed, %d lived) is below the floor of %g %%: kill the LIVED mutants with tests",
			r.Efficacy(), r.Killed, r.Lived, floor)
	}
	return nil
}
