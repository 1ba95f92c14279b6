//! The `latchkey` command.

use std::io::BufRead;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use latchkey_core::Clock;
use latchkey_core::auth::account::Signup;
use latchkey_core::secret::Secret;

use crate::config::{Config, Overrides};

#[derive(Parser)]
#[command(
    name = "latchkey",
    version,
    about = "Latchkey: login, tokens and sessions as a service"
)]
struct Cli {
    /// A TOML configuration file.
    #[arg(long, global = true, env = "LATCHKEY_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on, e.g. 127.0.0.1:8080.
    #[arg(long, global = true)]
    bind: Option<std::net::SocketAddr>,
    /// Where the embedded database lives when no database URL is set.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve,
    /// Bring the database schema up to date and exit.
    Migrate,
    /// Manage users.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Create a user. Without a referral code the user founds a new organization as its admin.
    Create {
        #[arg(long)]
        email: String,
        /// Make the user an admin (also when joining an organization by referral code).
        #[arg(long)]
        admin: bool,
        /// Join the organization with this invite code.
        #[arg(long)]
        referral_code: Option<String>,
        #[arg(long)]
        name: Option<String>,
        /// Read the password from the first line of standard input; otherwise a random one is
        /// generated and printed once.
        #[arg(long)]
        password_stdin: bool,
    },
}

pub async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let overrides = Overrides {
        bind: cli.bind,
        data_dir: cli.data_dir,
    };
    let config = Config::load(cli.config.as_deref(), &overrides)?;
    crate::telemetry::init(&config.log_format, &config.log_level);
    match cli.command {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            let app = crate::app::build(&config, Clock::system()).await?;
            app.auth.db().close().await;
            println!("database is up to date");
            Ok(())
        }
        Command::Users {
            command:
                UsersCommand::Create {
                    email,
                    admin,
                    referral_code,
                    name,
                    password_stdin,
                },
        } => {
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
                line.trim_end_matches(['\r', '\n']).to_owned()
            } else {
                let generated = latchkey_core::secret::random_token::<18>();
                println!("generated password (shown once): {generated}");
                generated
            };
            let app = crate::app::build(&config, Clock::system()).await?;
            let request = Signup {
                email,
                password: Secret::new(password),
                name,
                phone: None,
                referral_code,
            };
            let user = app
                .auth
                .create_user_cli(request, admin)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            app.auth.db().close().await;
            println!(
                "created user {} ({}) in organization {} as {}",
                user.id,
                user.email,
                user.org_id,
                user.role.as_str()
            );
            Ok(())
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    if config.argon2_memory_kib < 19_456 {
        tracing::warn!(
            kib = config.argon2_memory_kib,
            "argon2 memory is below OWASP's 19 MiB minimum"
        );
    }
    let running = crate::app::start(config.clone(), Clock::system()).await?;
    tracing::info!(addr = %running.addr, issuer = %config.issuer(),
        backend = ?running.app.auth.db().backend(), store = running.app.auth.state().kind(),
        "latchkey listening");
    shutdown_signal().await;
    tracing::info!("shutting down");
    running.stop().await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
