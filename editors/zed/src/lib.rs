//! Zed extension that starts `python -m shape_lsp serve` for Python files.
//!
//! `lsp.shape-lsp.binary` (path, arguments) in Zed's settings overrides the command;
//! `lsp.shape-lsp.initialization_options` and `lsp.shape-lsp.settings` are passed through.
use zed_extension_api::{self as zed, serde_json, settings::LspSettings, LanguageServerId, Result};

const SERVER: &str = "shape-lsp";

struct ShapeLsp;

impl zed::Extension for ShapeLsp {
    fn new() -> Self {
        ShapeLsp
    }

    fn language_server_command(
        &mut self,
        _id: &LanguageServerId,
        worktree: &zed::Worktree,
    ) -> Result<zed::Command> {
        let binary = LspSettings::for_worktree(SERVER, worktree)
            .ok()
            .and_then(|s| s.binary);
        let path = binary.as_ref().and_then(|b| b.path.clone());
        let args = binary.as_ref().and_then(|b| b.arguments.clone());
        let command = match path {
            Some(p) => p,
            None => worktree
                .which("python3")
                .or_else(|| worktree.which("python"))
                .ok_or_else(|| "shape-lsp: no python3 on PATH; set lsp.shape-lsp.binary.path".to_string())?,
        };
        Ok(zed::Command {
            command,
            args: args.unwrap_or_else(|| vec!["-m".into(), "shape_lsp".into(), "serve".into()]),
            env: worktree.shell_env(),
        })
    }

    fn language_server_initialization_options(
        &mut self,
        _id: &LanguageServerId,
        worktree: &zed::Worktree,
    ) -> Result<Option<serde_json::Value>> {
        Ok(LspSettings::for_worktree(SERVER, worktree)
            .ok()
            .and_then(|s| s.initialization_options))
    }

    fn language_server_workspace_configuration(
        &mut self,
        _id: &LanguageServerId,
        worktree: &zed::Worktree,
    ) -> Result<Option<serde_json::Value>> {
        let settings = LspSettings::for_worktree(SERVER, worktree)
            .ok()
            .and_then(|s| s.settings);
        Ok(settings.map(|s| serde_json::json!({ SERVER: s })))
    }
}

zed::register_extension!(ShapeLsp);
