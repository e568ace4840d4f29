// Renders an Ollama TEMPLATE with Go's text/template, as Ollama does: stdin is
// {"template": "...", "messages": [{"role": ..., "content": ...}]}, stdout the text.
package main

import (
	"encoding/json"
	"os"
	"text/template"
)

type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type Input struct {
	Template string    `json:"template"`
	Messages []Message `json:"messages"`
}

func main() {
	var input Input
	if err := json.NewDecoder(os.Stdin).Decode(&input); err != nil {
		panic(err)
	}
	parsed, err := template.New("ollama").Parse(input.Template)
	if err != nil {
		panic(err)
	}
	data := map[string]any{"Messages": input.Messages}
	if err := parsed.Execute(os.Stdout, data); err != nil {
		panic(err)
	}
}
