#!/usr/bin/env bash
# Install the desktop bundle (packaging/build.sh makes dist/threadloom) for this user, under ~/.local:
#   ~/.local/lib/threadloom/                          the bundle
#   ~/.local/bin/threadloom                           a link to its program
#   ~/.local/share/applications/threadloom.desktop    the launcher entry (files dropped on it open in a new thread)
#   ~/.local/share/icons/hicolor/*/apps/threadloom.*  the icon, every size and the SVG
#   ~/.local/share/metainfo/threadloom.metainfo.xml   AppStream metadata for software centres
#
#   usage: packaging/install-linux.sh [BUNDLE_DIR]    (default dist/threadloom)
#          packaging/install-linux.sh --remove        takes all of the above away again
# Threads, settings and models (~/.local/share/threadloom) are the user's and are never touched.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
data_home=${XDG_DATA_HOME:-$HOME/.local/share}
lib_dir=$HOME/.local/lib/threadloom
bin_link=$HOME/.local/bin/threadloom
desktop_file=$data_home/applications/threadloom.desktop
icons_dir=$data_home/icons/hicolor
metainfo_file=$data_home/metainfo/threadloom.metainfo.xml

refresh_desktop() {
    # Menus and icon caches pick up the change sooner; neither tool is needed for the entry to work.
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q "$data_home/applications" 2>/dev/null || true
    fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f "$icons_dir/index.theme" ]; then
        gtk-update-icon-cache -q -t "$icons_dir" 2>/dev/null || true
    fi
}

remove() {
    # The bundle folder goes only if it is ours: it holds the threadloom program and its _internal folder.
    if [ -d "$lib_dir" ]; then
        if [ ! -x "$lib_dir/threadloom" ] || [ ! -d "$lib_dir/_internal" ]; then
            echo "install-linux.sh: $lib_dir is not a Threadloom bundle; left as it is" >&2
            exit 1
        fi
        rm -rf "$lib_dir"
    fi
    if [ -L "$bin_link" ] && [ "$(readlink "$bin_link")" = "$lib_dir/threadloom" ]; then
        rm -f "$bin_link"
    fi
    rm -f "$desktop_file" "$metainfo_file"
    rm -f "$icons_dir"/*/apps/threadloom.png "$icons_dir"/scalable/apps/threadloom.svg
    refresh_desktop
    echo "Removed Threadloom from $HOME/.local (your threads and models in $data_home/threadloom are kept)"
}

install() {
    local bundle=${1:-$repo/dist/threadloom}
    if [ ! -x "$bundle/threadloom" ] || [ ! -f "$bundle/_internal/resources/threadloom.desktop" ]; then
        echo "install-linux.sh: no bundle in $bundle: build one with packaging/build.sh" >&2
        exit 1
    fi
    bundle=$(cd "$bundle" && pwd)
    if [ "$bundle" != "$lib_dir" ]; then
        rm -rf "$lib_dir.new"
        mkdir -p "$(dirname "$lib_dir")"
        cp -a "$bundle" "$lib_dir.new"
        rm -rf "$lib_dir"
        mv "$lib_dir.new" "$lib_dir"
    fi
    mkdir -p "$(dirname "$bin_link")"
    if [ -e "$bin_link" ] && [ ! -L "$bin_link" ]; then
        echo "($bin_link exists and is not a link to a bundle: left as it is)"
    else
        ln -sfn "$lib_dir/threadloom" "$bin_link"
    fi

    # The launcher entry and icons come from the bundle itself (packaging/threadloom.spec copies resources/ in), so
    # they always match the program. The entry runs it by its full path: ~/.local/bin is not on every PATH.
    local resources=$lib_dir/_internal/resources
    mkdir -p "$(dirname "$desktop_file")"
    sed -e "s|^Exec=threadloom |Exec=$lib_dir/threadloom |" -e "s|^TryExec=threadloom\$|TryExec=$lib_dir/threadloom|" \
        "$resources/threadloom.desktop" > "$desktop_file"

    local png size
    for png in "$resources"/icons/hicolor/*/apps/threadloom.png; do
        size=$(basename "$(dirname "$(dirname "$png")")")
        mkdir -p "$icons_dir/$size/apps"
        cp "$png" "$icons_dir/$size/apps/threadloom.png"
    done
    mkdir -p "$icons_dir/scalable/apps"
    cp "$resources/icons/threadloom.svg" "$icons_dir/scalable/apps/threadloom.svg"
    mkdir -p "$(dirname "$metainfo_file")"
    cp "$resources/threadloom.metainfo.xml" "$metainfo_file"
    refresh_desktop
    echo "Installed Threadloom in $lib_dir; start it from your launcher or with $bin_link"
    case ":$PATH:" in
        *":$HOME/.local/bin:"*) ;;
        *) echo "($HOME/.local/bin is not on your PATH: add it to run 'threadloom' in a terminal)" ;;
    esac
}

case "${1:-}" in
    --remove) remove ;;
    -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) install "${1:-}" ;;
esac
