#[tokio::main]
async fn main() -> std::process::ExitCode {
    match latchkey_server::cli::main().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("latchkey: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
