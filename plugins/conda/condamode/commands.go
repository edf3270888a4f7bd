package condamode

// The conda commands this mode runs, per CLI dialect. conda and mamba 1.x
// share one CLI. micromamba (and mamba 2.x) accept the same create/install
// flags (-y, -p, -c, --override-channels, --json, --file) but:
//   - have no "env update": "install -y -p PREFIX -f FILE" reads an
//     environment.yml (including its pip: section);
//   - read $MAMBARC as well as $CONDARC.

func channelArgs(channels []string) []string {
	var a []string
	for _, c := range channels {
		a = append(a, "-c", c)
	}
	if len(channels) > 0 {
		a = append(a, "--override-channels")
	}
	return a
}

// createArgs: conda create -y -p PREFIX [-c CH]... [--override-channels] --json python=X.Y
func (t *tool) createArgs(prefix, python string, channels []string) []string {
	a := []string{t.path, "create", "-y", "-p", prefix}
	a = append(a, channelArgs(channels)...)
	return append(a, "--json", "python="+python)
}

// installArgs: conda install -y -p PREFIX [-c CH]... [--override-channels] --json PKGS...
func (t *tool) installArgs(prefix string, channels, pkgs []string) []string {
	a := []string{t.path, "install", "-y", "-p", prefix}
	a = append(a, channelArgs(channels)...)
	a = append(a, "--json")
	return append(a, pkgs...)
}

// envUpdateArgs: conda env update -p PREFIX -f FILE (micromamba: install -y -p PREFIX -f FILE).
// No --json: pip's output of the file's pip: section is shown as it comes.
func (t *tool) envUpdateArgs(prefix, file string) []string {
	if t.flavor == flavorMicromamba {
		return []string{t.path, "install", "-y", "-p", prefix, "-f", file}
	}
	return []string{t.path, "env", "update", "-p", prefix, "-f", file}
}

// createExplicitArgs: conda create -y -p PREFIX --json --file EXPLICIT.txt
func (t *tool) createExplicitArgs(prefix, file string) []string {
	return []string{t.path, "create", "-y", "-p", prefix, "--json", "--file", file}
}
