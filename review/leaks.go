package review

import (
	"context"
	"io/fs"
	"net/http"
	"strings"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// decisionsFor returns an item's decision history as p may see it: the
// client address of a decision is shown to its own reviewer and to
// investigators and admins, not to other analysts.
func (s *Server) decisionsFor(ctx context.Context, p *principal, itemID string) ([]lokerwatch.Decision, error) {
	ds, err := s.st.Decisions(ctx, itemID)
	if err != nil {
		return nil, err
	}
	if !allows(p.user.Role, storage.RoleInvestigator) {
		for i := range ds {
			if ds[i].Reviewer != p.name() {
				ds[i].Remote = ""
			}
		}
	}
	return ds, nil
}

// noListing serves the files of fsys and answers 404 for directories, so
// /static/ does not list what it holds.
func noListing(fsys fs.FS, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimSuffix(r.URL.Path, "/")
		if name == "" {
			name = "."
		}
		if fi, err := fs.Stat(fsys, name); err != nil || fi.IsDir() {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}
