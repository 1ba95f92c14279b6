//! The `latchkey` command.

use std::fmt::Write as _;
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use latchkey_core::Clock;
use latchkey_core::auth::KeyRotator;
use latchkey_core::auth::account::Signup;
use latchkey_core::domain::Role;
use latchkey_core::secret::Secret;

use crate::config::{Config, Overrides};

#[derive(Parser)]
#[command(
    name = "latchkey",
    version,
    about = "Latchkey: login, tokens and sessions as a service"
)]
struct Cli {
    /// A TOML configuration file (keys as the settings below, lower case, without the prefix).
    #[arg(long, global = true, env = "LATCHKEY_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Where the embedded SQLite database lives when no database URL is set
    /// [default: ./latchkey-data] [env: LATCHKEY_DATA_DIR]
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// Address to listen on; a host name is resolved at start
        /// [default: 127.0.0.1:8080] [env: LATCHKEY_BIND]
        #[arg(long, value_name = "HOST:PORT", value_parser = crate::config::resolve_bind)]
        bind: Option<SocketAddr>,
    },
    /// Bring the database schema up to date, report what was applied, and exit.
    Migrate,
    /// Manage users.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Manage the keys that sign access tokens.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Print the OpenAPI 3.1 document (the one served at /openapi.json) and exit.
    Openapi,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Add a new signing key: running servers sign with it within seconds, older keys keep
    /// verifying until their last token has expired, then retire.
    Rotate,
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Create a user and print their default API key (once). Without a referral code the user
    /// founds a new organization and is its admin; with one they join it as a member.
    Create(CreateArgs),
    /// Grant a user the operator role (deployment-wide: signing keys), or take it away with
    /// --revoke. Unlike an organization admin, an operator can only be made here.
    Operator(OperatorArgs),
}

#[derive(Args)]
struct OperatorArgs {
    /// The user's email address.
    email: String,
    /// Take the role away instead of granting it (takes effect on the user's next request).
    #[arg(long)]
    revoke: bool,
}

#[derive(Args)]
struct CreateArgs {
    #[arg(long)]
    email: String,
    /// With --referral-code: join the organization as an admin instead of a member. (Without
    /// a referral code the user founds an organization and is always its admin.)
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
}

/// Every setting with its environment variable and default, read from `Config` itself so a
/// new setting shows up without being listed here.
fn settings_help() -> String {
    let mut out = String::from(
        "Settings (environment variable; in the --config file the same name in lower case \
         without LATCHKEY_) and defaults. Later sources win: defaults, file, environment, flags. \
         A limit of 0 turns it off.\n",
    );
    if let Ok(serde_json::Value::Object(map)) = serde_json::to_value(Config::default()) {
        for (key, value) in map {
            let default = match value {
                serde_json::Value::Null => "unset".to_owned(),
                serde_json::Value::String(s) if s.is_empty() => "empty".to_owned(),
                serde_json::Value::String(s) => s,
                serde_json::Value::Array(a) if a.is_empty() => "empty".to_owned(),
                other => other.to_string(),
            };
            let _ = writeln!(out, "  LATCHKEY_{:<32} {default}", key.to_ascii_uppercase());
        }
    }
    out
}

fn parse() -> Cli {
    let help = settings_help();
    let mut command = Cli::command().after_help(help.clone());
    for name in ["serve", "migrate"] {
        command = command.mut_subcommand(name, |c| c.after_help(help.clone()));
    }
    let matches = command.get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

pub async fn main() -> anyhow::Result<()> {
    let cli = parse();
    if let Command::Openapi = cli.command {
        // Needs no configuration: the document comes from the route table alone.
        println!("{}", crate::http::openapi_json());
        return Ok(());
    }
    let bind = match &cli.command {
        Command::Serve { bind } => *bind,
        _ => None,
    };
    let overrides = Overrides {
        bind,
        data_dir: cli.data_dir,
    };
    let config = Config::load(cli.config.as_deref(), &overrides)?;
    crate::telemetry::init(&config.log_format, &config.log_level);
    match cli.command {
        Command::Serve { .. } => serve(config).await,
        Command::Migrate => migrate(&config).await,
        Command::Users {
            command: UsersCommand::Create(args),
        } => create_user(&config, args).await,
        Command::Users {
            command: UsersCommand::Operator(args),
        } => set_operator(&config, args).await,
        Command::Keys {
            command: KeysCommand::Rotate,
        } => rotate_keys(&config).await,
        Command::Openapi => unreachable!("answered before the configuration is read"),
    }
}

async fn migrate(config: &Config) -> anyhow::Result<()> {
    println!("database: {}", config.database_description());
    let (db, migrated) = crate::app::open_database(config).await?;
    db.close().await;
    if migrated.applied.is_empty() {
        println!("database is up to date ({} migrations)", migrated.total);
        return Ok(());
    }
    for m in &migrated.applied {
        println!("applied {:04} {}", m.version, m.description);
    }
    println!(
        "applied {} of {} migrations; the database is now up to date",
        migrated.applied.len(),
        migrated.total
    );
    Ok(())
}

async fn rotate_keys(config: &Config) -> anyhow::Result<()> {
    println!("database: {}", config.database_description());
    let app = crate::app::build(config, Clock::system()).await?;
    let key = app
        .auth
        .rotate_signing_key(KeyRotator::CommandLine)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let overlap = app.auth.signing_key_overlap();
    println!("new signing key: {}", key.kid);
    println!(
        "running servers sign with it within seconds; older keys keep verifying for {} more, then retire",
        humantime::format_duration(overlap)
    );
    app.auth.db().close().await;
    Ok(())
}

async fn set_operator(config: &Config, args: OperatorArgs) -> anyhow::Result<()> {
    // A malformed address stops here, before any database is opened.
    latchkey_core::input::Email::parse(&args.email).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("database: {}", config.database_description());
    let app = crate::app::build(config, Clock::system()).await?;
    let result = app.auth.set_operator(&args.email, !args.revoke).await;
    app.auth.db().close().await;
    let (user, changed) = result.map_err(|e| match e {
        latchkey_core::AuthError::NotFound(_) => {
            anyhow::anyhow!("no user has the email {}", args.email)
        }
        e => anyhow::anyhow!("{e}"),
    })?;
    let what = match (args.revoke, changed) {
        (false, true) => "is now an operator",
        (false, false) => "was already an operator (nothing changed)",
        (true, true) => "is no longer an operator",
        (true, false) => "was not an operator (nothing changed)",
    };
    println!("user {} ({}) {what}", user.id, user.email);
    Ok(())
}

async fn create_user(config: &Config, args: CreateArgs) -> anyhow::Result<()> {
    let generated = (!args.password_stdin).then(latchkey_core::secret::random_token::<18>);
    let password = match &generated {
        Some(p) => p.clone(),
        None => {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    let joins = args.referral_code.is_some();
    let request = Signup {
        email: args.email,
        password: Secret::new(password),
        name: args.name,
        phone: None,
        referral_code: args.referral_code,
    };
    // Bad input stops here, before any database is opened or any secret printed.
    request.check().map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("database: {}", config.database_description());
    let app = crate::app::build(config, Clock::system()).await?;
    let created = app.auth.create_user_cli(request, args.admin).await;
    let org = match &created {
        Ok((user, _)) if !joins => app.auth.db().org_by_id(&user.org_id).await.ok().flatten(),
        _ => None,
    };
    app.auth.db().close().await;
    let (user, key) = created.map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "created user {} ({}) in organization {} as {}",
        user.id,
        user.email,
        user.org_id,
        user.role.as_str()
    );
    if let Some(password) = generated {
        println!("password (shown once): {password}");
    }
    println!("API key (shown once): {}", key.key.expose());
    if let Some(org) = org.filter(|_| user.role == Role::Admin) {
        println!(
            "referral code of the new organization (to invite members): {}",
            org.referral_code
        );
    }
    Ok(())
}

async fn serve(config: Config) -> anyhow::Result<()> {
    if config.argon2_memory_kib < 19_456 {
        tracing::warn!(
            kib = config.argon2_memory_kib,
            "argon2 memory is below OWASP's 19 MiB minimum"
        );
    }
    if config.issuer.is_none() && !config.bind.ip().is_loopback() {
        // Tokens name their issuer; `http://0.0.0.0:8080` is no address a client can check.
        tracing::warn!(
            issuer = %config.issuer(),
            "LATCHKEY_ISSUER is not set: tokens are issued as {}; set LATCHKEY_ISSUER to the \
             public URL for anything but local use",
            config.issuer()
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
