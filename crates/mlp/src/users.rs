//! `mlp user …` and `mlp token …`: users and personal access tokens through the server's API
//! (MLflow's user endpoints and `/api/v1/tokens`), with the caller's credentials from the
//! environment as for `mlp job`. Passwords are read from a file or stdin, never from the command
//! line, where other users of the machine could see them.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use crate::jobs::{api_client, call, server_url};

#[derive(Args)]
pub struct UserArgs {
    /// The platform's URL (also MLP_SERVER, or MLFLOW_TRACKING_URI).
    #[arg(long, global = true, env = "MLP_SERVER")]
    server: Option<String>,
    #[command(subcommand)]
    command: UserCommand,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user (admins): `mlp user create alice --password-file pw.txt [--admin]`.
    Create {
        username: String,
        /// A file holding the password, or `-` for stdin.
        #[arg(long)]
        password_file: PathBuf,
        /// Make the user an admin.
        #[arg(long)]
        admin: bool,
    },
    /// List users.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Change a password (admins: anyone's; users: their own, with --current-password-file).
    SetPassword {
        username: String,
        #[arg(long)]
        password_file: PathBuf,
        #[arg(long)]
        current_password_file: Option<PathBuf>,
    },
    /// Grant or take away admin rights (admins): `mlp user set-admin bob true`.
    SetAdmin {
        username: String,
        #[arg(action = clap::ArgAction::Set)]
        is_admin: bool,
    },
    /// Delete a user with their grants and tokens (admins).
    Delete { username: String },
}

#[derive(Args)]
pub struct TokenArgs {
    /// The platform's URL (also MLP_SERVER, or MLFLOW_TRACKING_URI).
    #[arg(long, global = true, env = "MLP_SERVER")]
    server: Option<String>,
    #[command(subcommand)]
    command: TokenCommand,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token for yourself; prints its secret (shown this once) on stdout.
    Create {
        name: String,
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// List your tokens (never their secrets).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke one of your tokens by id.
    Revoke { token_id: String },
}

fn read_secret(path: &PathBuf) -> anyhow::Result<String> {
    let mut s = String::new();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .read_to_string(&mut s)
            .context("cannot read the password from stdin")?;
    } else {
        s = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    }
    let s = s.trim_end_matches(['\r', '\n']).to_string();
    if s.is_empty() {
        bail!("the password in {} is empty", path.display());
    }
    Ok(s)
}

/// Milliseconds since the epoch as `YYYY-MM-DD HH:MM` UTC (Hinnant's civil-from-days), so a
/// table needs no date crate.
fn when(ms: &Value) -> String {
    let Some(ms) = ms.as_i64() else {
        return "never".into();
    };
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}", rem / 3600, rem % 3600 / 60)
}

pub async fn run_user(args: UserArgs) -> anyhow::Result<()> {
    let base = server_url(args.server);
    let users = format!("{base}/api/2.0/mlflow/users");
    let http = api_client()?;
    match args.command {
        UserCommand::Create {
            username,
            password_file,
            admin,
        } => {
            let password = read_secret(&password_file)?;
            call(
                http.post(format!("{users}/create"))
                    .json(&json!({ "username": username, "password": password })),
            )
            .await?;
            if admin {
                call(
                    http.patch(format!("{users}/update-admin"))
                        .json(&json!({ "username": username, "is_admin": true })),
                )
                .await?;
            }
            eprintln!("created user {username}{}", if admin { " (admin)" } else { "" });
        }
        UserCommand::List { json } => {
            let v: Value = call(http.get(format!("{users}/list"))).await?.json().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&v["users"])?);
            } else {
                println!("{:<32} ADMIN", "USERNAME");
                for u in v["users"].as_array().into_iter().flatten() {
                    println!(
                        "{:<32} {}",
                        u["username"].as_str().unwrap_or(""),
                        if u["is_admin"].as_bool() == Some(true) {
                            "yes"
                        } else {
                            "no"
                        }
                    );
                }
            }
        }
        UserCommand::SetPassword {
            username,
            password_file,
            current_password_file,
        } => {
            let mut body = json!({ "username": username, "password": read_secret(&password_file)? });
            if let Some(f) = current_password_file {
                body["current_password"] = json!(read_secret(&f)?);
            }
            call(http.patch(format!("{users}/update-password")).json(&body)).await?;
            eprintln!("password of {username} changed");
        }
        UserCommand::SetAdmin { username, is_admin } => {
            call(
                http.patch(format!("{users}/update-admin"))
                    .json(&json!({ "username": username, "is_admin": is_admin })),
            )
            .await?;
            eprintln!("{username}: admin = {is_admin}");
        }
        UserCommand::Delete { username } => {
            call(
                http.delete(format!("{users}/delete"))
                    .json(&json!({ "username": username })),
            )
            .await?;
            eprintln!("deleted user {username}");
        }
    }
    Ok(())
}

pub async fn run_token(args: TokenArgs) -> anyhow::Result<()> {
    let base = server_url(args.server);
    let tokens = format!("{base}/api/v1/tokens");
    let http = api_client()?;
    match args.command {
        TokenCommand::Create { name, expires_in_days } => {
            let mut body = json!({ "name": name });
            if let Some(d) = expires_in_days {
                body["expires_in_days"] = json!(d);
            }
            let v: Value = call(http.post(&tokens).json(&body)).await?.json().await?;
            eprintln!(
                "token {} created, expires {}; the secret below is shown only now:",
                v["token"]["id"].as_str().unwrap_or(""),
                when(&v["token"]["expires_at"])
            );
            println!("{}", v["secret"].as_str().unwrap_or(""));
        }
        TokenCommand::List { json } => {
            let v: Value = call(http.get(&tokens)).await?.json().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&v["tokens"])?);
            } else {
                println!("{:<34} {:<24} {:<17} EXPIRES", "ID", "NAME", "CREATED");
                for t in v["tokens"].as_array().into_iter().flatten() {
                    println!(
                        "{:<34} {:<24} {:<17} {}",
                        t["id"].as_str().unwrap_or(""),
                        t["name"].as_str().unwrap_or(""),
                        when(&t["created_at"]),
                        when(&t["expires_at"])
                    );
                }
            }
        }
        TokenCommand::Revoke { token_id } => {
            call(http.delete(format!("{tokens}/{token_id}"))).await?;
            eprintln!("token {token_id} revoked");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_are_utc_civil() {
        assert_eq!(super::when(&serde_json::json!(0)), "1970-01-01 00:00");
        assert_eq!(
            super::when(&serde_json::json!(1_709_210_096_000i64)),
            "2024-02-29 12:34"
        );
        assert_eq!(super::when(&serde_json::Value::Null), "never");
    }
}
