package spec

import (
	"gopkg.in/yaml.v3"
)

// Seed returns the seed-form runtime.yaml that `runtime create` writes:
//
//	mode: venv
//	name: mnist
//	pip_req: requirements.txt
//	python_version: "3.9"
//	starwhale_version: 0.1.0
//
// Empty mode and python take DefaultMode and DefaultPython; an empty
// swVersion leaves starwhale_version out. Seed does not validate: call
// ValidateName and ValidatePython first.
func Seed(name, modeName, python, swVersion string) []byte {
	return SeedWithReq(name, modeName, python, DefaultPipReq, swVersion)
}

// SeedWithReq is Seed naming pipReq (a path relative to the workdir) as the
// requirements file (`runtime quickstart --requirements`).
func SeedWithReq(name, modeName, python, pipReq, swVersion string) []byte {
	if modeName == "" {
		modeName = DefaultMode
	}
	if python == "" {
		python = DefaultPython
	}
	m := &yaml.Node{Kind: yaml.MappingNode}
	add := func(k, v string, quoted bool) {
		val := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}
		if quoted {
			val.Style = yaml.DoubleQuotedStyle
		}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, val)
	}
	add("mode", modeName, false)
	add("name", name, false)
	add("pip_req", pipReq, false)
	add("python_version", python, true)
	if swVersion != "" {
		add("starwhale_version", swVersion, false)
	}
	out, err := yaml.Marshal(m)
	if err != nil { // cannot happen for string scalars
		panic("spec: seed: " + err.Error())
	}
	return out
}
