"""Knowledge folders: a folder whose supported files a thread (or every thread) sees, kept in step with the disk.
Mixed into AttachmentService, whose `documents`, `_store_copy` and `_ingest` it uses."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import NamedTuple

from app.core.documents import Attachment, KnowledgeFolder
from app.core.errors import InvalidInput
from app.ingest.extract import kind_of
from app.services.ingest import ProgressCallback


def file_stamp(path: Path) -> str:
    """A file's size and modification time: equal stamps mean the file was not touched since."""
    stat = path.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}"


LINKS_NOT_FOLLOWED = "links out of the folder not followed"  # the key of `sync_folders`' changes that says them
WATCHED_PATHS_MAX = 4096  # inotify watches are a per-user budget shared with other programs


class FolderTree(NamedTuple):
    folders: list[Path]
    files: list[Path]
    links_out: list[Path]  # symbolic links that lead out of the folder: not followed


def files_under(path: Path) -> list[Path]:
    """A folder's files of supported kinds (hidden ones skipped), sorted; a file is itself."""
    return folder_tree(path).files if path.is_dir() else [path]


def folder_tree(root: Path) -> FolderTree:
    """The folders and the supported files below `root` (hidden ones, and what is inside them, skipped), each sorted:
    one walk of the tree. A symbolic link that leads out of `root` is not followed (a folder shared with a thread
    must not reach files the user never put in it), and said: `links_out`."""
    tree = FolderTree([], [], [])
    inside = root.resolve()
    for path in root.rglob("*"):
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        if path.is_symlink() and not path.resolve().is_relative_to(inside):
            tree.links_out.append(path)
        elif path.is_dir():
            tree.folders.append(path)
        elif path.is_file() and kind_of(path):
            tree.files.append(path)
    return FolderTree(*(sorted(paths) for paths in tree))


class KnowledgeFolders:
    def add_folder(self, path: str | Path, *, thread_id: int | None) -> KnowledgeFolder:
        folder = Path(path).expanduser().resolve()
        if not folder.is_dir():
            raise InvalidInput(f"{folder} is not a folder; choose a folder to watch")
        return self.documents.add_folder(str(folder), thread_id=thread_id)

    def folders(self) -> list[tuple[KnowledgeFolder, int]]:
        """Each knowledge folder, with how many of its files a thread can draw on."""
        return [(folder, len(self.documents.folder_attachments(folder.id))) for folder in self.documents.folders()]

    def remove_folder(self, folder_id: int) -> None:
        self.documents.remove_folder(folder_id)

    def watched_paths(self, *, limit: int = WATCHED_PATHS_MAX) -> list[str]:
        """What a file watcher should watch to notice a change in the knowledge folders: each folder and its
        subfolders (a file added, removed or renamed), then their files (edited in place); at most `limit`."""
        folders: list[Path] = []
        files: list[Path] = []
        for folder in self.documents.folders():
            root = Path(folder.path)
            if root.is_dir():
                tree = folder_tree(root)
                folders += [root, *tree.folders]
                files += tree.files
        return list(dict.fromkeys(str(p) for p in folders + files))[:limit]

    def sync_folders(
        self, *, summarise: bool = True, progress: ProgressCallback | None = None, cancel: threading.Event | None = None
    ) -> dict[str, list[str]]:
        """Bring every knowledge folder's index up to date: new and changed files are ingested, removed ones
        dropped, unchanged ones left alone. A file whose size and mtime are as last read is not even hashed;
        otherwise its sha256 decides. Returns the file paths per change, and the links not followed out of a
        folder (`LINKS_NOT_FOLLOWED`)."""
        changes: dict[str, list[str]] = {
            "added": [], "changed": [], "removed": [], "unchanged": [], LINKS_NOT_FOLLOWED: [],
        }  # fmt: skip
        touched: list[Attachment] = []
        for folder in self.documents.folders():
            known = {a.source_path: a for a in self.documents.folder_attachments(folder.id)}
            stamps = self.documents.folder_stamps(folder.id)
            tree = folder_tree(Path(folder.path)) if Path(folder.path).is_dir() else FolderTree([], [], [])
            changes[LINKS_NOT_FOLLOWED] += [str(link) for link in tree.links_out]
            present = tree.files
            for path in present:
                before = known.pop(str(path), None)
                try:
                    stamp = file_stamp(path)
                except OSError:
                    continue  # gone between the walk and now: the next poll sees it removed
                if before is not None and stamps.get(str(path)) == stamp:
                    changes["unchanged"].append(str(path))
                    continue
                try:
                    document = self._store_copy(path)
                except InvalidInput:
                    continue
                if before is not None and before.document.id == document.id:
                    self.documents.set_stamp(before.id, stamp)  # touched, same content
                    changes["unchanged"].append(str(path))
                    continue
                changes["changed" if before else "added"].append(str(path))
                touched.append(
                    self.documents.attach(
                        thread_id=folder.thread_id,
                        document_id=document.id,
                        file_name=path.name,
                        source_path=str(path),
                        folder_id=folder.id,
                        source_stamp=stamp,
                    )  # fmt: skip
                )
            for gone in known.values():
                self.documents.remove_attachment(gone.id)
                changes["removed"].append(gone.source_path or gone.file_name)
        self._ingest(touched, None, summarise, progress, cancel)
        return changes
