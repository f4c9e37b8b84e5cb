package node

import (
	"flag"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// bindFlags binds one flag to every field of c from its flag and usage
// tags (see Config), so a field declared once reaches the flags, the
// MESHHEALTH_* variables (named after the flags), the YAML file and
// --print-config (its yaml tag). The list flags are returned: Parse resets
// them between the variables and the command line.
func bindFlags(fs *flag.FlagSet, c *Config) []*stringList {
	return bindStruct(fs, reflect.ValueOf(c).Elem(), "", "")
}

// bindStruct binds v's fields. prefix is prepended to their flag names;
// name replaces {name} in their usage (a probe's name).
func bindStruct(fs *flag.FlagSet, v reflect.Value, prefix, name string) []*stringList {
	var lists []*stringList
	t := v.Type()
	for i := range t.NumField() {
		f, fv := t.Field(i), v.Field(i)
		tag, tagged := f.Tag.Lookup("flag")
		if tag == "-" {
			continue
		}
		if f.Type.Kind() == reflect.Struct {
			p, n := prefix, name
			if tagged {
				p, n = prefix+tag+"-", yamlKey(f)
			}
			lists = append(lists, bindStruct(fs, fv, p, n)...)
			continue
		}
		if !tagged {
			// Every setting has a flag: a field without one is a field
			// half declared. Caught by the first test that parses flags.
			panic(fmt.Sprintf("node: Config field %s has no flag tag (flag:\"-\" for none)", f.Name))
		}
		flagName := prefix + tag
		usage := strings.ReplaceAll(f.Tag.Get("usage"), "{name}", name)
		switch p := fv.Addr().Interface().(type) {
		case *string:
			fs.StringVar(p, flagName, *p, usage)
		case *bool:
			fs.BoolVar(p, flagName, *p, usage)
		case *int:
			fs.IntVar(p, flagName, *p, usage)
		case *uint64:
			fs.Uint64Var(p, flagName, *p, usage)
		case *float64:
			fs.Float64Var(p, flagName, *p, usage)
		case *time.Duration:
			fs.DurationVar(p, flagName, *p, usage)
		case *[]string:
			l := &stringList{list: p}
			fs.Var(l, flagName, usage)
			lists = append(lists, l)
		case *map[string]float64:
			// One flag per known component: weights.
			for _, comp := range components {
				fs.Var(weightValue{*p, comp}, strings.ReplaceAll(flagName, "{component}", comp),
					strings.ReplaceAll(usage, "{component}", comp))
			}
		default:
			panic(fmt.Sprintf("node: Config field %s: no flag for type %s", f.Name, f.Type))
		}
	}
	return lists
}

// yamlKey is a field's key in the YAML file.
func yamlKey(f reflect.StructField) string {
	key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if key == "" {
		return strings.ToLower(f.Name)
	}
	return key
}
