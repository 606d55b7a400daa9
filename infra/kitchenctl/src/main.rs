//! `kitchenctl`: set up and look after a Coffee Kitchen deployment from the
//! terminal. `main` only wires: parse the command line, load the settings,
//! run the command, print its answer and exit with its status.

mod announce;
mod aws;
mod cli;
mod doctor;
mod init;
mod json_text;
mod keys;
mod outcome;
mod room;
mod secret_store;
mod settings;
mod zoom;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command, DeviceCommand, RoomCommand, SecretCommand, ViewerCommand};
use keys::{AddArgs, Kind};
use outcome::{CtlError, Report};
use settings::Settings;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            let help = matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion);
            if !help && std::env::args().any(|a| a == "--json") {
                let rendered = e.render().to_string();
                let message = rendered
                    .lines()
                    .take_while(|l| !l.is_empty() && !l.starts_with("Usage:"))
                    .map(str::trim)
                    .collect::<Vec<_>>()
                    .join(" ");
                let message = message.trim_start_matches("error: ").to_owned();
                return outcome::print(Err(CtlError::usage("usage", message)), true);
            }
            e.exit()
        }
    };
    let as_json = cli.global.json;
    let result = run(cli).await;
    outcome::print(result, as_json)
}

async fn run(cli: Cli) -> Result<Report, CtlError> {
    let settings = match &cli.global.stack {
        Some(name) => Settings::with_stack(name).await?,
        None => Settings::from_env(),
    };
    match cli.command {
        Command::Doctor => doctor::run(&settings).await,
        Command::Status => room::status(&settings).await,
        Command::Announce { room, message } => announce::run(&settings, &room, &message).await,
        Command::Room(RoomCommand::Create { name, host, topic }) => {
            room::create(&settings, &name, &host, topic).await
        }
        Command::Device(DeviceCommand::Add {
            name,
            owner,
            room,
            rotate,
        }) => {
            let args = AddArgs {
                kind: Kind::Device,
                name,
                owner,
                room,
                admin: false,
                rotate,
            };
            keys::add(&settings, args).await
        }
        Command::Device(DeviceCommand::List) => keys::list(&settings, Kind::Device).await,
        Command::Device(DeviceCommand::Revoke { name, yes }) => {
            keys::revoke(&settings, Kind::Device, &name, yes).await
        }
        Command::Viewer(ViewerCommand::Add {
            name,
            admin,
            rotate,
        }) => {
            let args = AddArgs {
                kind: Kind::Viewer,
                name,
                owner: None,
                room: None,
                admin,
                rotate,
            };
            keys::add(&settings, args).await
        }
        Command::Viewer(ViewerCommand::List) => keys::list(&settings, Kind::Viewer).await,
        Command::Viewer(ViewerCommand::Revoke { name, yes }) => {
            keys::revoke(&settings, Kind::Viewer, &name, yes).await
        }
        Command::Secret(SecretCommand::Init { overwrite }) => init::run(&settings, overwrite).await,
    }
}
