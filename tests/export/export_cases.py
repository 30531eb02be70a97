"""What each tool writer is tested on: its fixture, a malformed text, and what a new file holds."""

from __future__ import annotations

from typing import Any

# tool -> (fixture with comments and other providers, a malformed text, its error line)
CASES: dict[str, tuple[str, str, int]] = {
    "opencode": ("opencode.jsonc", '{\n  "provider": {\n    "x": 1\n  }}\n}\n', 5),
    "kilo": ("kilo.jsonc", '{\n  "model": "a" "b"\n}\n', 2),
    "kilo-legacy": ("kilo-legacy.json", '{\n  "providerProfiles": {},\n}\n', 3),
    "crush": ("crush.json", '{\n  // comments are not JSON\n  "providers": {}\n}\n', 2),
    "continue": ("continue.yaml", "name: x\nmodels:\n  - name: a\n   bad: indent\n", 4),
    "aider": ("aider.conf.yml", "model: sonnet\ndark-mode: [true\n", 3),
    "codex": ("codex.toml", 'model = "x"\n[model_providers\n', 2),
    "qwen": ("qwen.json", '{\n  "model": {"name": "a",,}\n}\n', 2),
    "goose": ("goose.yaml", "GOOSE_MODEL: x\nextensions: {a: 1\n", 3),
    "zed": ("zed.json", '// mine\n{\n  "agent": {"default_model": }\n}\n', 3),
    "roo": ("roo.json", '{\n  "providerProfiles": {}\n  "x": 1\n}\n', 3),
}

OPENCODE_ENTRY = {
    "npm": "@ai-sdk/openai-compatible",
    "name": "oss-monitor: Groq",
    "options": {"baseURL": "https://api.groq.com/openai/v1", "apiKey": "{env:GROQ_API_KEY}"},
    "models": {
        "openai/gpt-oss-120b": {
            "name": "gpt-oss-120b (Groq)",
            "limit": {"context": 131072, "output": 32768},
        }
    },
}
FRESH: dict[str, Any] = {
    "opencode": {
        "$schema": "https://opencode.ai/config.json",
        "provider": {"oss-monitor": OPENCODE_ENTRY},
        "model": "oss-monitor/openai/gpt-oss-120b",
    },
    "kilo": {
        "$schema": "https://app.kilo.ai/config.json",
        "provider": {"oss-monitor": OPENCODE_ENTRY},
        "model": "oss-monitor/openai/gpt-oss-120b",
    },
    "kilo-legacy": {
        "providerProfiles": {
            "currentApiConfigName": "oss-monitor",
            "apiConfigs": {
                "oss-monitor": {
                    "id": "oss-monitor",
                    "apiProvider": "openai",
                    "openAiBaseUrl": "https://api.groq.com/openai/v1",
                    "openAiApiKey": "",
                    "openAiModelId": "openai/gpt-oss-120b",
                    "openAiCustomModelInfo": {
                        "contextWindow": 131072,
                        "maxTokens": 32768,
                        "supportsImages": False,
                        "supportsPromptCache": False,
                    },
                    "openAiStreamingEnabled": True,
                }
            },
            "modeApiConfigs": {"code": "oss-monitor"},
        },
        "globalSettings": {},
    },
    "crush": {
        "$schema": "https://charm.land/crush.json",
        "providers": {
            "oss-monitor": {
                "name": "oss-monitor: Groq",
                "type": "openai-compat",
                "base_url": "https://api.groq.com/openai/v1",
                "api_key": "$GROQ_API_KEY",
                "models": [
                    {
                        "id": "openai/gpt-oss-120b",
                        "name": "gpt-oss-120b (Groq)",
                        "context_window": 131072,
                        "default_max_tokens": 32768,
                        "cost_per_1m_in": 0.15,
                        "cost_per_1m_out": 0.6,
                        "cost_per_1m_in_cached": 0.15,
                        "cost_per_1m_out_cached": 0.15,
                        "can_reason": True,
                        "supports_attachments": False,
                    }
                ],
            }
        },
        "models": {"large": {"provider": "oss-monitor", "model": "openai/gpt-oss-120b"}},
    },
    "continue": {
        "name": "Local Config",
        "version": "1.0.0",
        "schema": "v1",
        "models": [
            {
                "name": "gpt-oss-120b (oss-monitor)",
                "provider": "openai",
                "model": "openai/gpt-oss-120b",
                "apiBase": "https://api.groq.com/openai/v1",
                "apiKey": "${{ secrets.GROQ_API_KEY }}",
                "roles": ["chat", "edit", "apply"],
                "defaultCompletionOptions": {"contextLength": 131072, "maxTokens": 32768},
            }
        ],
    },
    "aider": {
        "model": "openai/openai/gpt-oss-120b",
        "openai-api-base": "https://api.groq.com/openai/v1",
        "model-metadata-file": "@DIR@/.aider.oss-monitor.metadata.json",
    },
    "codex": {
        "model": "openai/gpt-oss-120b",
        "model_provider": "oss-monitor",
        "model_context_window": 131072,
        "model_providers": {
            "oss-monitor": {
                "name": "oss-monitor: Groq",
                "base_url": "https://api.groq.com/openai/v1",
                "env_key": "GROQ_API_KEY",
                "wire_api": "responses",
            }
        },
    },
    "qwen": {
        "modelProviders": {
            "openai": [
                {
                    "id": "openai/gpt-oss-120b",
                    "name": "gpt-oss-120b (oss-monitor)",
                    "description": "oss-monitor: Groq",
                    "baseUrl": "https://api.groq.com/openai/v1",
                    "envKey": "GROQ_API_KEY",
                    "generationConfig": {"contextWindowSize": 131072},
                }
            ]
        },
        "security": {"auth": {"selectedType": "openai"}},
        "model": {"name": "openai/gpt-oss-120b"},
        "$version": 4,
    },
    "goose": {"GOOSE_PROVIDER": "custom_oss_monitor", "GOOSE_MODEL": "openai/gpt-oss-120b"},
    "zed": {
        "language_models": {
            "openai_compatible": {
                "oss-monitor": {
                    "api_url": "https://api.groq.com/openai/v1",
                    "available_models": [
                        {
                            "name": "openai/gpt-oss-120b",
                            "display_name": "gpt-oss-120b (Groq)",
                            "max_tokens": 131072,
                            "max_output_tokens": 32768,
                        }
                    ],
                }
            }
        },
        "agent": {"default_model": {"provider": "oss-monitor", "model": "openai/gpt-oss-120b"}},
    },
}
FRESH["roo"] = FRESH["kilo-legacy"]
