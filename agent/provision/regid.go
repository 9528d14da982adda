package provision

import (
	"errors"
	"fmt"
)

// MaxRegistrationIDLen is the longest registration id DPS accepts.
const MaxRegistrationIDLen = 128

// ValidateRegistrationID checks id against DPS's rules: 1-128 characters,
// ASCII letters and digits plus '-', '.', '_' and ':', ending in a letter,
// a digit or '-'. DPS compares registration ids case-insensitively; with
// X.509 attestation the id is the leaf certificate's CN.
func ValidateRegistrationID(id string) error {
	switch {
	case id == "":
		return errors.New("registration id is empty")
	case len(id) > MaxRegistrationIDLen:
		return fmt.Errorf("registration id is %d characters long; DPS allows %d", len(id), MaxRegistrationIDLen)
	}
	for _, r := range id {
		if !isAlnum(r) && r != '-' && r != '.' && r != '_' && r != ':' {
			return fmt.Errorf("registration id %q: character %q is not allowed (ASCII letters, digits and -._: only)", id, r)
		}
	}
	if last := rune(id[len(id)-1]); !isAlnum(last) && last != '-' {
		return fmt.Errorf("registration id %q must end in a letter, a digit or '-'", id)
	}
	return nil
}

func isAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}
