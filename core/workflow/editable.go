package workflow

import "github.com/swcli/swcli/core/mode"

// checkEditables refuses editable installs unless includeEditable, and then
// makes sure their files were packed.
func checkEditables(modeName string, lock mode.Lock, rep mode.FilesReport, includeEditable, lockOnly bool) error {
	var editables []mode.LockedPackage
	for _, p := range lock.Packages {
		if !p.Editable {
			continue
		}
		if !includeEditable {
			return usagef("%s %s is an editable install (pip install -e); a bundle cannot carry a link to your source tree: install it normally, or build with --include-editable to pack its files as they are now", p.Name, p.Version)
		}
		editables = append(editables, p)
	}
	if lockOnly {
		return nil
	}
	return checkEditablesPacked(modeName, editables, rep)
}

// checkEditablesPacked makes sure the mode reported the files of every
// editable install (--include-editable): a mode that does not know how
// returns none, and its bundle would hold only the link to the source tree.
func checkEditablesPacked(modeName string, editables []mode.LockedPackage, rep mode.FilesReport) error {
	for _, e := range editables {
		found := false
		for _, p := range rep.Packages {
			if normName(p.Name) == normName(e.Name) && len(p.External) > 0 {
				found = true
				break
			}
		}
		if !found {
			return usagef("%s %s is an editable install and the %s mode did not report the files of its source tree, so --include-editable cannot pack it: install it normally (pip install, not pip install -e)", e.Name, e.Version, modeName)
		}
	}
	return nil
}

func hasEditable(l mode.Lock) bool {
	for _, p := range l.Packages {
		if p.Editable {
			return true
		}
	}
	return false
}
